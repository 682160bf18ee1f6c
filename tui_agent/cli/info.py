"""``tui-agent paths``: where the database, config, rules and phrases are."""

from __future__ import annotations

import os
from pathlib import Path

import click

from tui_agent.cli.common import db_option, effective_db_path
from tui_agent.paths import (
    PHRASES_ENV,
    cache_dir,
    config_dir,
    config_file,
    rules_path,
    shipped_phrases_dir,
)


@click.command()
@db_option
def paths(db_path: Path | None) -> None:
    """Show the files tui-agent reads and writes, after flags and environment variables:
    the database, config, rules file in use, phrase directories in load order (shipped,
    yours, $TUI_AGENT_PHRASES) and the cache."""
    rules = rules_path()
    own = rules.parent == config_dir()
    rows: list[tuple[str, Path, str]] = [
        ("database", effective_db_path(db_path), ""),
        ("config dir", config_dir(), ""),
        ("config file", config_file(), ""),
        ("rules", rules, ""),
    ]
    # Every phrase directory, also those not there yet (phrase_dirs() leaves them out).
    shipped = shipped_phrases_dir()
    rows.append(("phrases", shipped, ""))
    rows.append(("phrases", config_dir() / "phrases", "; `phrases add` writes here"))
    env = os.environ.get(PHRASES_ENV)
    rows += [("phrases", Path(p).expanduser(), "") for p in (env or "").split(os.pathsep) if p]
    rows.append(("cache dir", cache_dir(), ""))
    for label, path, note in rows:
        state = f"  ({note[2:]})" if note else ""
        if not Path(path).exists():
            state = f"  (not there yet{note})"
        if label == "rules":
            state = (
                "  (in use: your copy)"
                if own
                else f"  (in use: the shipped default; copy it to {config_dir() / 'rules.toml'})"
            )
        click.echo(f"{label:<12} {path}{state}")
