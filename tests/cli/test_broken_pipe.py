"""A command whose reader has gone (`tui-agent customer find a | head -1`) stops quietly:
no "Error: ... Broken pipe" line, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pipe") / "shop.db"
    subprocess.run(
        [sys.executable, "-m", "tui_agent", "--db", str(path), "demo"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return path


@pytest.mark.parametrize("args", [["customer", "find", "a"], ["due"], ["phrases", "list"]])
def test_closed_stdout_ends_quietly(shop: Path, args: list[str]) -> None:
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the command writes its first line
    try:
        done = subprocess.run(
            [sys.executable, "-m", "tui_agent", "--db", str(shop), *args],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write)
    assert done.stderr == ""
    assert done.returncode == 1
