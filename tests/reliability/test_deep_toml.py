"""Issue 15 item 7: a deeply nested TOML value (``x = [[[...]]]``, 500 levels, about 1 KB) in a
phrase file, ``config.toml``, ``rules.toml`` or a mapping file is reported as
``path: too deeply nested``; a phrase directory still loads its other files."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tui_agent.cli import main
from tui_agent.config import ConfigError, load_config
from tui_agent.core.csvrows import parse_mapping_text
from tui_agent.core.phrases import load_library
from tui_agent.core.rules import RulesError, load_rules

DEEP = "x = " + "[" * 500 + "]" * 500 + "\n"


def test_deep_phrase_file_is_reported_and_the_rest_loads(tmp_path: Path) -> None:
    (tmp_path / "a_deep.toml").write_text(DEEP, encoding="utf-8")
    (tmp_path / "b_good.toml").write_text(
        '[[phrase]]\nid = "hello"\nstage = "first_purchase"\ntitle = "Hi"\nbody = "您好"\n',
        encoding="utf-8",
    )
    result = load_library([tmp_path])
    assert [str(p) for p in result.problems] == [f"{tmp_path / 'a_deep.toml'}:1: too deeply nested"]
    assert "hello" in result.library


def test_deep_config_and_rules(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(DEEP, encoding="utf-8")
    with pytest.raises(ConfigError, match="^" + str(path) + ": too deeply nested$"):
        load_config(path)
    rules = tmp_path / "rules.toml"
    rules.write_text(DEEP, encoding="utf-8")
    with pytest.raises(RulesError, match="^" + str(rules) + ": too deeply nested$"):
        load_rules(rules)
    with pytest.raises(ValueError, match="too deeply nested"):
        parse_mapping_text(DEEP)


def test_deep_rules_in_the_config_dir_give_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "rules.toml").write_text(DEEP, encoding="utf-8")
    monkeypatch.setenv("TUI_AGENT_CONFIG_DIR", str(conf))
    db = tmp_path / "s.db"
    from tui_agent.store.db import connect

    connect(db).close()
    r = CliRunner().invoke(main, ["--db", str(db), "due"])
    assert r.exit_code == 1, r.output
    assert r.output.strip().endswith("rules.toml: too deeply nested")
    assert r.exception is None or isinstance(r.exception, SystemExit)
