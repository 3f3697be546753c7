"""The wheel ships `redis_sessions.integrations` from the root integrations/ folder, and no top-level
`integrations` package (API.md, "Packaging and imports")."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import redis_sessions

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (path,) = out.glob("redis_sessions-*.whl")
    return zipfile.ZipFile(path)


def test_wheel_maps_integrations_under_the_package(wheel: zipfile.ZipFile) -> None:
    names = wheel.namelist()
    assert "redis_sessions/integrations/__init__.py" in names
    assert "redis_sessions/integrations/asgi.py" in names
    assert "redis_sessions/_scripts/save.lua" in names
    assert "redis_sessions/py.typed" in names


def test_wheel_ships_every_module_of_the_source(wheel: zipfile.ZipFile) -> None:
    """No subpackage forgotten in pyproject's package list (the Django and Flask integrations...)."""
    names = set(wheel.namelist())
    for folder, package in (
        (ROOT / "redis_sessions", "redis_sessions"),
        (ROOT / "integrations", "redis_sessions/integrations"),
    ):
        for source in folder.rglob("*.py"):
            assert f"{package}/{source.relative_to(folder).as_posix()}" in names, source


def test_wheel_has_no_top_level_integrations(wheel: zipfile.ZipFile) -> None:
    top_level = {name.split("/")[0] for name in wheel.namelist()}
    assert top_level == {"redis_sessions", *(n for n in top_level if n.endswith(".dist-info"))}


def test_editable_install_serves_the_live_source() -> None:
    import redis_sessions.integrations.asgi as asgi

    # The strict editable install links files into build/__editable__*; they are the same files.
    assert Path(asgi.__file__).samefile(ROOT / "integrations" / "asgi.py")
    assert Path(redis_sessions.__file__).samefile(ROOT / "redis_sessions" / "__init__.py")


def test_no_top_level_integrations_package_is_installed() -> None:
    code = "import importlib.util, sys; sys.exit(importlib.util.find_spec('integrations') is not None)"
    # Run outside the repository root, where the folder itself would be importable.
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT.parent, check=False)
    assert result.returncode == 0
