"""scripts/test.sh reruns the suites on the lowest redis-py, Flask, Werkzeug, prometheus-client and
opentelemetry-api that pyproject.toml declares: the two lists must name the same versions, or that
rerun proves nothing."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _release(version: str) -> tuple[int, ...]:
    parts = [int(p) for p in version.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def test_the_lowest_versions_rerun_matches_the_declared_lower_bounds() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    declared = {
        name: _release(version)
        for name, version in re.findall(
            r'"(redis|flask|werkzeug|prometheus-client|opentelemetry-api)>=([0-9.]+)"', pyproject
        )
    }
    script = (ROOT / "scripts/test.sh").read_text(encoding="utf-8")
    (pins,) = re.findall(r'^LOWEST="([^"]+)"$', script.replace("\\\n", " "), re.M)
    tested = {name: version for name, version in (pin.split("==") for pin in pins.split())}
    assert set(declared) == {"redis", "flask", "werkzeug", "prometheus-client", "opentelemetry-api"}
    assert {name: _release(tested[name]) for name in declared} == declared
