"""Run a command from a small process and write its own peak RSS (KiB) to a file.

    python -m benchmarks.peak_rss OUT_FILE COMMAND...

A child started by a big process (the benchmark harness after building the shop: ~380 MB)
reports that process's high-water mark in ``ru_maxrss``, whatever it used itself: Linux
carries the parent's address space's peak over the ``exec``. Started from this small process
instead, the figure is the command's own (its reaped children included, as ``wait4`` counts
them). Exits with the command's status; stdin, stdout and stderr are the command's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def main() -> None:
    out, cmd = Path(sys.argv[1]), sys.argv[2:]
    proc = subprocess.Popen(cmd)
    _pid, status, usage = os.wait4(proc.pid, 0)
    out.write_text(str(usage.ru_maxrss))
    sys.exit(os.waitstatus_to_exitcode(status))


if __name__ == "__main__":
    main()
