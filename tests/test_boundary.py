"""The architecture's one hard boundary, and no side effects at import time."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import tui_agent.core
import tui_agent.store


def _modules(pkg: object) -> list[str]:
    path = pkg.__path__  # type: ignore[attr-defined]
    name = pkg.__name__  # type: ignore[attr-defined]
    return [f"{name}.{m.name}" for m in pkgutil.iter_modules(path)]


def test_core_and_store_never_import_textual() -> None:
    mods = _modules(tui_agent.core) + _modules(tui_agent.store)
    assert mods, "no modules found"
    code = (
        "import importlib, sys\n"
        f"for m in {mods!r}: importlib.import_module(m)\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_core_never_speaks_sql() -> None:
    core_dir = Path(tui_agent.core.__file__).parent
    for src in core_dir.glob("*.py"):
        text = src.read_text(encoding="utf-8")
        assert "import sqlite" not in text and "from sqlite" not in text, src.name


def test_importing_creates_no_files(tmp_path: Path) -> None:
    env = {
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path / "d"),
        "XDG_CONFIG_HOME": str(tmp_path / "c"),
        "PATH": "/usr/bin:/bin",
    }
    code = "import tui_agent.cli, tui_agent.store.followups, tui_agent.core.lifecycle"
    subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd=Path(__file__).parents[1])
    assert list(tmp_path.iterdir()) == []
