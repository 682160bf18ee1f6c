"""Issue 15 item 1 in a real terminal: showing a hostile customer in the console (inside tmux,
which passes OSC 52 on with ``set-clipboard on``) sets neither the pane title nor a tmux buffer.

The same tmux server first proves it would notice: ``cat`` of the raw name sets both.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.test_hostile_text import HOSTILE_NAME, _hostile_files

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[list[str]]:
    sock = str(tmp_path / "tmux.sock")
    base = ["tmux", "-S", sock, "-f", "/dev/null"]
    subprocess.run([*base, "new-session", "-d", "-x", "120", "-y", "40", "-s", "t"], check=True)
    subprocess.run([*base, "set", "-g", "set-clipboard", "on"], check=True)
    subprocess.run([*base, "set", "-g", "allow-rename", "on"], check=True)
    try:
        yield base
    finally:
        subprocess.run([*base, "kill-server"], check=False)


def _title(base: list[str], target: str) -> str:
    out = subprocess.run(
        [*base, "display", "-p", "-t", target, "#{pane_title}"], capture_output=True, text=True
    )
    return out.stdout.strip()


def _buffers(base: list[str]) -> str:
    return subprocess.run([*base, "list-buffers"], capture_output=True, text=True).stdout


def _screen(base: list[str], target: str) -> str:
    return subprocess.run(
        [*base, "capture-pane", "-p", "-t", target], capture_output=True, text=True
    ).stdout


def _wait(what: object, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if what():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_console_showing_a_hostile_customer_sets_no_title_and_no_buffer(
    tmp_path: Path, tmux: list[str]
) -> None:
    # The harness notices: raw text sets the title and a buffer.
    raw = tmp_path / "raw.txt"
    raw.write_text(HOSTILE_NAME, encoding="utf-8")
    subprocess.run([*tmux, "new-window", "-d", "-n", "probe", f"cat {raw}; sleep 30"], check=True)
    _wait(lambda: _title(tmux, "probe") == "pwned" and _buffers(tmux))
    subprocess.run([*tmux, "kill-window", "-t", "probe"], check=True)
    subprocess.run([*tmux, "delete-buffer"], check=False)
    assert not _buffers(tmux)

    customers, orders = _hostile_files(tmp_path)
    db = tmp_path / "shop.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for kind, file in (("customers", customers), ("orders", orders)):
        subprocess.run(
            [sys.executable, "-m", "tui_agent", "import", kind, str(file), "--db", str(db)],
            check=True,
            env=env,
            cwd=ROOT,
        )
    home = tmp_path / "home"
    cmd = (
        f"cd {ROOT} && HOME={home} XDG_CONFIG_HOME={home}/c XDG_DATA_HOME={home}/d "
        f"TUI_AGENT_CONFIG_DIR={home}/c TERM=xterm-256color "
        f"{sys.executable} -m tui_agent --db {db} --today 2026-01-05 --agent lily"
    )
    subprocess.run([*tmux, "new-window", "-d", "-n", "console", cmd], check=True)
    before = _title(tmux, "console")
    _wait(lambda: "王" in _screen(tmux, "console"))
    time.sleep(2)  # a few refreshes of the card
    screen = _screen(tmux, "console")
    assert "␛]52" in screen  # shown, visibly
    assert _title(tmux, "console") == before != "pwned"
    assert not _buffers(tmux)
    subprocess.run([*tmux, "send-keys", "-t", "console", "q"], check=False)
