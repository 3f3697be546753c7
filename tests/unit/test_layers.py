"""The adapters see the core through its public API and `redis_sessions._http` only: no other private
module, so a change to the record or the plans cannot silently break one framework."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def private_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("redis_sessions"):
            parts = (node.module or "").split(".")
            if any(p.startswith("_") for p in parts[1:]):
                found.append(node.module or "")
            found += [
                f"{node.module}.{a.name}" for a in node.names if a.name.startswith("_") and a.name != "_http"
            ]
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("redis_sessions._")]
    return found


def test_integrations_import_no_private_core_module_but_http() -> None:
    offenders = {
        str(path.relative_to(ROOT)): private_imports(path)
        for path in (ROOT / "integrations").rglob("*.py")
        if private_imports(path)
    }
    # redis_sessions.integrations.* are the adapters' own modules.
    offenders = {
        path: [m for m in mods if not m.startswith("redis_sessions.integrations")]
        for path, mods in offenders.items()
    }
    assert {p: m for p, m in offenders.items() if m} == {}
