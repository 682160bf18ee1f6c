"""``tui-agent paths`` names every file and directory tui-agent reads or writes."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tui_agent.cli import main


def test_paths_lists_what_is_read_and_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg, cache, extra = tmp_path / "cfg", tmp_path / "cache", tmp_path / "extra"
    monkeypatch.setenv("TUI_AGENT_CONFIG_DIR", str(cfg))
    monkeypatch.setenv("TUI_AGENT_CACHE_DIR", str(cache))
    monkeypatch.setenv("TUI_AGENT_PHRASES", str(extra))
    r = CliRunner().invoke(main, ["paths", "--db", str(tmp_path / "shop.db")])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert f"database     {tmp_path / 'shop.db'}  (not there yet)" in lines
    # the user's phrase dir (where `phrases add` writes) and $TUI_AGENT_PHRASES are listed
    # even before they exist, and the cache dir (derived data) too
    assert any(line.startswith(f"phrases      {cfg / 'phrases'}  (not there yet") for line in lines)
    assert f"phrases      {extra}  (not there yet)" in lines
    assert f"cache dir    {cache}  (not there yet)" in lines
    (cfg / "phrases").mkdir(parents=True)
    r = CliRunner().invoke(main, ["paths"])
    assert f"phrases      {cfg / 'phrases'}  (`phrases add` writes here)" in r.output.splitlines()


def test_readme_command_table_lists_every_command() -> None:
    import click

    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## Everyday commands") : readme.index("### Where things live")]
    ctx = click.Context(main)
    commands = main.list_commands(ctx)
    assert {"console", "paths", "customer", "export"} <= set(commands)
    assert [c for c in commands if f"`tui-agent {c}" not in table] == []
    for name in commands:  # and every command's --help works
        r = CliRunner().invoke(main, [name, "--help"])
        assert r.exit_code == 0 and "Usage:" in r.output, name
