"""Opening the console (placeholder until the console issue lands: prints the due list)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def run_console(*, db_path: Path | None, agent: str | None, today: Any, demo: bool) -> None:
    import click

    click.echo("The console is not built yet; try `tui-agent due`.")
