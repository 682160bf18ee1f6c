"""``tui-agent paths``: where the database, config, rules and phrases are."""

from __future__ import annotations

from pathlib import Path

import click

from tui_agent.cli.common import db_option, effective_db_path
from tui_agent.paths import config_dir, config_file, phrase_dirs, rules_path


@click.command()
@db_option
def paths(db_path: Path | None) -> None:
    """Show the files tui-agent reads and writes, after flags and environment variables
    (and which rules file is in use)."""
    rules = rules_path()
    own = rules.parent == config_dir()
    rows = [
        ("database", effective_db_path(db_path)),
        ("config dir", config_dir()),
        ("config file", config_file()),
        ("rules", rules),
    ]
    rows += [("phrases", d) for d in phrase_dirs()]
    for label, path in rows:
        state = "" if Path(path).exists() else "  (not there yet)"
        if label == "rules":
            state = (
                "  (in use: your copy)"
                if own
                else f"  (in use: the shipped default; copy it to {config_dir() / 'rules.toml'})"
            )
        click.echo(f"{label:<12} {path}{state}")
