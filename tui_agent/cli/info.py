"""``tui-agent paths``: where the database, config, rules and phrases are."""

from __future__ import annotations

from pathlib import Path

import click

from tui_agent.cli.common import db_option, effective_db_path
from tui_agent.paths import config_dir, config_file, phrase_dirs, rules_path


@click.command()
@db_option
def paths(db_path: Path | None) -> None:
    """Show the files tui-agent reads and writes, after flags and environment variables."""
    rows = [
        ("database", effective_db_path(db_path)),
        ("config dir", config_dir()),
        ("config file", config_file()),
        ("rules", rules_path()),
    ]
    rows += [("phrases", d) for d in phrase_dirs()]
    for label, path in rows:
        state = "" if Path(path).exists() else "  (not there yet)"
        click.echo(f"{label:<12} {path}{state}")
