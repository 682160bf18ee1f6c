"""The day's follow-ups generated in a low-priority process of its own.

    python -m tui_agent.generation_job DB DAY RULES_FILE

The console of the first agent of the day starts it and shows the queue carried over from
earlier days meanwhile; when the process exits the list fills in. On a big shop generating a
day costs seconds of CPU: in a thread of the console it would hold the interpreter lock the
first paint needs. The generation is idempotent and safe against concurrent runs (another
agent's console, ``tui-agent due``), so a process that dies or is killed loses nothing.
Exit status 0 when the day is generated, 1 on an error (the console then generates in process).
"""

from __future__ import annotations

import os
import sys
from datetime import date, datetime
from pathlib import Path

NICE = 10  # below the agents' consoles on a shared host


def command(db_path: Path, today: date, rules_file: Path) -> list[str]:
    """The command line that generates ``today`` on ``db_path`` with the rules of ``rules_file``."""
    return [
        sys.executable,
        "-m",
        "tui_agent.generation_job",
        str(db_path),
        today.isoformat(),
        str(rules_file),
    ]


def main(argv: list[str]) -> int:
    if hasattr(os, "nice"):
        os.nice(NICE)
    from tui_agent.core.rules import load_rules
    from tui_agent.store.db import connect
    from tui_agent.store.followups import generate

    db_path, day, rules_file = argv
    today = date.fromisoformat(day)
    try:
        rules = load_rules(Path(rules_file))
        db = connect(Path(db_path), create=False)
        try:
            now = datetime.combine(today, datetime.now().time().replace(microsecond=0))
            generate(db, today, rules, now=now)
        finally:
            db.conn.close()
    except Exception as exc:  # the console falls back to generating in its own process
        print(f"{db_path}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
