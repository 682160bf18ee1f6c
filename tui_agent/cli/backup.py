"""``tui-agent backup DEST``: a consistent copy of the shop database while agents work."""

from __future__ import annotations

from pathlib import Path

import click

from tui_agent.cli.common import UserError, db_option, effective_db_path


@click.command("backup")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--keep",
    type=click.IntRange(min=1),
    default=None,
    help="Keep the newest N backups of this database in DEST, remove older ones.",
)
@db_option
def backup(dest: Path, keep: int | None, db_path: Path | None) -> None:
    """Copy the database into directory DEST as NAME-YYYYMMDD-HHMMSS.db.

    Uses SQLite's online backup API: agents keep working, and the copy holds everything
    committed when the backup started. Never copy a live database file with cp.
    """
    from tui_agent.store.backup import BackupError, backup_database

    source = effective_db_path(db_path)
    try:
        result = backup_database(source, dest, keep=keep)
    except BackupError as exc:
        raise UserError(str(exc)) from None
    size = result.size / 2**20
    click.echo(f"{result.path}: {size:.1f} MB")
    for old in result.removed:
        click.echo(f"removed {old}")
