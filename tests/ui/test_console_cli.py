"""The console's command line and keymap (the full screen itself is driven in the pilot tests)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from tests.ui.conftest import MakeApp
from tests.ui.pilot import keys, run, settle
from tui_agent.cli import main
from tui_agent.screens.modals import SnoozePicker


def test_console_help_and_bad_database(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["console", "--help"])
    assert result.exit_code == 0 and "--today" in result.output and "--demo" in result.output
    bad = tmp_path / "not.db"
    bad.write_text("this is not sqlite " * 200)
    result = runner.invoke(main, ["--db", str(bad)])
    assert result.exit_code == 1
    assert "not a tui-agent database" in result.output
    assert "Traceback" not in result.output


def test_bad_config_is_one_line_error(tmp_path: Path, monkeypatch: object) -> None:
    from tui_agent.paths import config_file

    config_file().parent.mkdir(parents=True, exist_ok=True)
    config_file().write_text("[keymap]\nsnooze = 3\n")
    result = CliRunner().invoke(main, ["console", "--db", str(tmp_path / "x.db")])
    assert result.exit_code == 1 and "[keymap]" in result.output


def test_keymap_from_config_remaps_a_binding(make_app: MakeApp) -> None:
    async def body() -> None:
        app = make_app(keymap={"snooze": "z"})
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot)
            await keys(pilot, "s")
            assert not isinstance(app.screen, SnoozePicker)  # s no longer snoozes
            await keys(pilot, "z")
            assert isinstance(app.screen, SnoozePicker)

    run(body)
