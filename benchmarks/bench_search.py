"""Phrase search per query on 10k and 100k synthetic phrases, beside ``fzf --filter``.

Our side is the phrases team's ``benchmarks/phrase_search.py`` (``run``): a seeded synthetic
library, an index built once, then every query of its fixed set (Chinese, English, pinyin,
pinyin initials, typos, shortcuts, filters) timed many times. The baseline runs
``fzf --filter QUERY`` (Debian package fzf) once per query over the same phrases written one
per line (id, titles, tags, bodies), in the same run. fzf's time includes starting the process
and reading the list: that is what using it as a filter costs. It knows no pinyin, so the
ratio compares speed, not the quality of the answers.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import time
from pathlib import Path

from benchmarks import phrase_search
from benchmarks.common import Context, Result, ms, percentile

NAME = "search"
GOALS_MS = {10_000: 8.0, 100_000: 70.0}


def _lines(n: int) -> str:
    out = []
    for p in phrase_search.synthetic_phrases(n):
        parts = [p.id, " ".join(p.tags), p.shortcut or ""]
        for v in p.variants:
            parts += [v.title, v.body]
        out.append("  ".join(x for x in parts if x).replace("\n", " "))
    return "\n".join(out) + "\n"


def fzf_times(n: int, work: Path, repeat: int) -> list[float] | None:
    fzf = shutil.which("fzf")
    if fzf is None:
        return None
    path = work / f"phrases-{n}.txt"
    path.write_text(_lines(n), encoding="utf-8")
    times: list[float] = []
    for _ in range(repeat):
        for q in phrase_search.QUERIES:
            with open(path, "rb") as stdin:
                t0 = time.perf_counter()
                subprocess.run(
                    [fzf, "--filter", q], stdin=stdin, stdout=subprocess.DEVNULL, check=False
                )
                times.append(time.perf_counter() - t0)
    return times


def run(ctx: Context) -> list[Result]:
    results = []
    repeat = 2 if ctx.quick else 10
    for n in ctx.sizes.phrase_counts:
        r = phrase_search.run(n, repeat=repeat)
        p50, p99 = r["p50_ms"] / 1000, r["p99_ms"] / 1000
        goal_ms = GOALS_MS.get(n)
        fz = fzf_times(n, ctx.work, max(1, repeat // 5))
        if fz is None:
            extra = "fzf not installed: no baseline (apt-get install fzf)"
        else:
            f50 = statistics.median(fz)
            extra = (
                f"fzf --filter p50 {ms(f50)}, p99 {ms(percentile(fz, 99))} "
                f"(ours {f50 / p50:.1f}x faster at p50)"
            )
        extra += (
            f"; CPU p50 {r['cpu_p50_ms']:.1f} ms, p99 {r['cpu_p99_ms']:.1f} ms"
            f"; {int(r['queries'])} timed queries; index build {r['build_cold_s']:.1f} s cold, "
            f"{r['build_warm_s']:.1f} s with pinyin cache"
        )
        results.append(
            Result(
                name=f"Phrase search, {n:,} phrases",
                goal=f"p99 <= {goal_ms:g} ms" if goal_ms else "(goal is for 10k/100k)",
                p50=ms(p50),
                p99=ms(p99),
                extra=extra,
                passed=None if goal_ms is None else p99 * 1000 <= goal_ms,
            )
        )
    return results
