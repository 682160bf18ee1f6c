"""A real ``tui-agent serve`` in a subprocess, on a demo shop with agent logins."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 11, 20)
SHOP = "小满生活馆"
PASSWORD = "correct horse 9"


@dataclass
class Served:
    proc: subprocess.Popen[bytes]
    url: str
    db_path: Path

    def consoles(self) -> list[int]:
        """Console processes the server started (its children running ``tui_agent console``)."""
        return children(self.proc.pid, "console")

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        assert self.proc.stderr is not None
        return self.proc.stderr.read().decode("utf-8", "replace")


def children(pid: int, marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and marker.encode() in cmdline:
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def start_server(db_path: Path, *extra: str, timeout: float = 90) -> Served:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tui_agent",
            "--db",
            str(db_path),
            "serve",
            "--port",
            "0",
            "--today",
            TODAY.isoformat(),
            *extra,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    line = b""
    while time.monotonic() < deadline and b"\n" not in line:
        if sel.select(timeout=1):
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                break
            line += chunk
    sel.close()
    text = line.decode("utf-8", "replace")
    if " on http" not in text:
        proc.kill()
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise AssertionError(f"server did not start: {text!r} {err}")
    url = text.split(" on ", 1)[1].split()[0]
    return Served(proc, url, db_path)


def wait_until(
    check: Callable[[], Any], timeout: float = 90, what: str = "condition", page: Any = None
) -> Any:
    """Poll ``check()`` until it returns something truthy (the CI machine is slow). With a
    Playwright ``page``, wait through it, so the page's events keep arriving meanwhile."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        if page is not None:
            page.wait_for_timeout(100)
        else:
            time.sleep(0.1)
