"""What `pip install .` ships: every package of the source tree, and a console script that runs."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_is_listed_in_pyproject() -> None:
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"][
            "packages"
        ]
    )
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "tui_agent").rglob("__init__.py")
    }
    assert found - listed == set(), "packages missing from pyproject.toml's list"


def test_installed_console_script_runs_outside_the_source_tree(tmp_path: Path) -> None:
    # Run from elsewhere, so the installed package is imported rather than this checkout.
    script = Path(sys.executable).parent / "tui-agent"
    assert script.exists(), "install the project first (README's second command)"
    db = tmp_path / "demo.db"
    for args in (
        ["--help"],
        ["--db", str(db), "demo", "--today", "2026-11-22"],
        ["--db", str(db), "due", "--date", "2026-11-22", "--json"],
    ):
        out = subprocess.run(
            [str(script), *args], cwd=tmp_path, capture_output=True, text=True, timeout=300
        )
        assert out.returncode == 0, (args, out.stderr[-2000:])
