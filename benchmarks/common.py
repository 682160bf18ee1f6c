"""What every measurement shares: sizes, results, percentiles, timing a child process.

A measurement module exposes ``NAME`` and ``run(ctx: Context) -> list[Result]``. A result
that could not be measured carries ``skipped`` (the reason) and is never given a number.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / ".data"
# The day the benchmarks call "today": just after the generated two years of orders
# (2024-01-01 .. 2025-12-31), so every lifecycle rule has orders in its window.
TODAY = date(2026, 1, 2)


@dataclass(frozen=True)
class Sizes:
    """How big the shop and the workloads are (full run or ``--quick``)."""

    customers: int
    lines: int
    phrase_counts: tuple[int, ...]
    agents: int
    touches_per_agent: int
    repeats: int  # repeated runs of the whole-process measurements
    import_repeats: int  # the 1M-line import is the slowest: fewer runs
    seed: int = 1


FULL = Sizes(
    customers=200_000,
    lines=1_000_000,
    phrase_counts=(10_000, 100_000),
    agents=8,
    touches_per_agent=1_500,
    repeats=5,
    import_repeats=3,
)
QUICK = Sizes(
    customers=2_000,
    lines=10_000,
    phrase_counts=(500, 2_000),
    agents=8,
    touches_per_agent=100,
    repeats=2,
    import_repeats=1,
)


@dataclass
class Result:
    """One row of the results table."""

    name: str
    goal: str = ""
    p50: str = "-"
    p99: str = "-"
    rss: str = "-"
    extra: str = ""  # baseline ratio, throughput, sample count ...
    passed: bool | None = None  # None: no goal, or not measured
    skipped: str | None = None  # "not measured: <why>"

    @property
    def verdict(self) -> str:
        if self.skipped:
            return "not measured"
        if self.passed is None:
            return "-"
        return "pass" if self.passed else "FAIL"


@dataclass
class Context:
    """Handed to every measurement: the sizes, the built shop, where to put scratch files."""

    sizes: Sizes
    quick: bool
    work: Path  # scratch directory, removed after the run
    shop: ShopFiles | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ShopFiles:
    """The built shop: its CSV files and databases (read-only for measurements: copy first)."""

    csv_dir: Path
    base_db: Path  # customers and products only (the state before an orders import)
    shop_db: Path  # everything imported, plus a touch history
    customers: int
    lines: int


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100). With fewer than 100 samples p99 is the max."""
    if not values:
        raise ValueError("no samples")
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 10 else f"{seconds:.1f} s"


def secs(seconds: float) -> str:
    return f"{seconds:.2f} s"


def mb(kib: int) -> str:
    return f"{kib / 1024:.0f} MB"


@dataclass(frozen=True)
class ChildRun:
    seconds: float
    cpu_seconds: float  # user + system CPU of the child: steadier than wall on a busy machine
    max_rss_kib: int
    returncode: int
    stdout: str
    stderr: str


def run_child(
    args: Sequence[str], *, env: dict[str, str] | None = None, own_rss: bool = False
) -> ChildRun:
    """Run a command; wall time and the child's peak RSS (``wait4``'s ``ru_maxrss``).

    ``ru_maxrss`` of a child started by this process is at least this process's own peak
    (Linux carries it over the exec): after the shop was built here (~380 MB) every child
    would report that. ``own_rss`` starts the command from a small process
    (``benchmarks.peak_rss``) that reports the command's own figure.
    """
    full_env = {**os.environ, **(env or {})}
    rss_file: Path | None = None
    if own_rss:
        fd, name = tempfile.mkstemp(prefix="peak-rss-")
        os.close(fd)
        rss_file = Path(name)
        args = [sys.executable, "-m", "benchmarks.peak_rss", name, *args]
    start = time.perf_counter()
    proc = subprocess.Popen(
        list(args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=full_env,
        cwd=ROOT,
    )
    # Read the pipes before reaping, so a chatty child never blocks on a full pipe.
    out, err = proc.stdout.read(), proc.stderr.read()  # type: ignore[union-attr]
    _pid, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stdout.close()  # type: ignore[union-attr]
    proc.stderr.close()  # type: ignore[union-attr]
    max_rss = usage.ru_maxrss
    if rss_file is not None:
        text = rss_file.read_text().strip()
        rss_file.unlink()
        max_rss = int(text) if text else max_rss
    return ChildRun(
        seconds,
        usage.ru_utime + usage.ru_stime,
        max_rss,
        proc.returncode,
        out.decode("utf-8", "replace"),
        err.decode("utf-8", "replace"),
    )


def python() -> str:
    return sys.executable
