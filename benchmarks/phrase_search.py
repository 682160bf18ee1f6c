"""Phrase search speed on a synthetic library: p50 / p99 per query.

    python -m benchmarks.phrase_search --n 10000 --n 100000

Goal (issue 3, on 2 cores): p99 <= 8 ms on 10k phrases, <= 70 ms on 100k. The library is
built from a seeded word list, so every run searches the same phrases with the same queries
(Chinese, English, pinyin, pinyin initials, typos, shortcuts, filters).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from tui_agent.core.models import Stage
from tui_agent.core.phrases import Phrase, Variant
from tui_agent.core.search import PhraseIndex, PinyinCache


def _words(text: str) -> list[str]:
    return text.split()


ZH_WORDS = _words(
    "补货 提醒 好评 邀请 签收 关怀 发货 通知 会员 生日 祝福 新品 上架 优惠 券 回购 专享 "
    "限时 活动 使用 指南 售后 退换 破损 升级 推荐 搭配 积分 兑换 节日 问候 春节 中秋 "
    "老顾客 感谢 唤醒 回归 礼物 护肤 母婴 数码 配件 服饰 食品 饮料 宝宝 面霜 精华 茶叶 "
    "咖啡 零食 耳机 充电 滤芯 尺码 换季 质保 物流 包裹 快递 满减 折扣 抢先 专场"
)
EN_WORDS = _words(
    "restock reminder review invitation delivery care shipping notice member birthday "
    "greetings new arrival coupon returning customer offer limited usage guide return "
    "exchange damaged upgrade related accessory points holiday thanks welcome back gift "
    "skin care baby electronics clothing food drink tea coffee priority vip early access"
)
TAGS = _words(
    "order-confirm shipping care delivery satisfaction usage review related upgrade replenish "
    "coupon new-product birthday holiday member-day winback vip after-sales"
)
PLACEHOLDERS = ("{name|亲}", "{product}", "{coupon}", "{shop_name}", "{days_since_delivery}")
QUERIES = (
    "补货提醒",
    "好评",
    "会员生日",
    "bhtx",
    "hptx",
    "buhuo",
    "huiyuan",
    "restock reminder",
    "review invitation",
    "birthdya",
    "补货题醒",
    "reveiw",
    "/bh",
    "#coupon 会员",
    "stage:loyalty 生日",
    "vip",
    "新品上架",
    "x",
)


def synthetic_phrases(n: int, seed: int = 0) -> list[Phrase]:
    """``n`` phrases from a fixed word list; a third also carry an English variant."""
    rng = random.Random(seed)
    stages = list(Stage)
    phrases: list[Phrase] = []
    for i in range(n):
        title = "".join(rng.sample(ZH_WORDS, rng.randint(2, 4)))
        body = "，".join(
            "".join(rng.sample(ZH_WORDS, 3)) + rng.choice(PLACEHOLDERS)
            for _ in range(rng.randint(2, 5))
        )
        variants = [Variant("zh", title, body)]
        if i % 3 == 0:
            en_title = " ".join(rng.sample(EN_WORDS, rng.randint(2, 4))).capitalize()
            en_body = " ".join(rng.sample(EN_WORDS, rng.randint(8, 20))) + " {name|there}"
            variants.append(Variant("en", en_title, en_body))
        phrases.append(
            Phrase(
                id=f"p{i:06d}",
                stage=stages[i % len(stages)],
                variants=tuple(variants),
                tags=tuple(rng.sample(TAGS, rng.randint(1, 3))),
                shortcut=f"/s{i:x}" if i % 20 == 0 else None,
            )
        )
    return phrases


def _percentile(sorted_values: list[float], q: float) -> float:
    k = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[k]


def run(
    n: int, *, seed: int = 0, repeat: int = 5, cache_dir: Path | None = None
) -> dict[str, float]:
    """Build an index of ``n`` synthetic phrases and time every query ``repeat`` times.

    Returns milliseconds per query (wall p50, p99, max, mean; CPU p50, p99) and seconds to
    build the index cold (pinyin computed) and warm (pinyin read from the cache file).
    """
    phrases = synthetic_phrases(n, seed)
    with tempfile.TemporaryDirectory() as tmp:
        cache_path = (cache_dir or Path(tmp)) / f"bench-pinyin-{n}-{seed}.json"
        t0 = time.perf_counter()
        PhraseIndex(phrases, cache=PinyinCache(cache_path))
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        warm_cache = PinyinCache(cache_path)
        index = PhraseIndex(phrases, cache=warm_cache)
        warm = time.perf_counter() - t0
    assert warm_cache.computed == 0, "an unchanged library must not recompute pinyin"
    for q in QUERIES:  # warm up rapidfuzz and the caches
        index.search(q)
    timings: list[float] = []
    cpu: list[float] = []  # CPU time of this process: less noisy on a busy machine
    for _ in range(repeat):
        for q in QUERIES:
            t0, c0 = time.perf_counter(), time.process_time()
            index.search(q, limit=20)
            cpu.append((time.process_time() - c0) * 1000)
            timings.append((time.perf_counter() - t0) * 1000)
    timings.sort()
    cpu.sort()
    return {
        "phrases": float(n),
        "queries": float(len(timings)),
        "p50_ms": round(_percentile(timings, 0.50), 2),
        "p99_ms": round(_percentile(timings, 0.99), 2),
        "max_ms": round(timings[-1], 2),
        "mean_ms": round(statistics.fmean(timings), 2),
        "cpu_p50_ms": round(_percentile(cpu, 0.50), 2),
        "cpu_p99_ms": round(_percentile(cpu, 0.99), 2),
        "build_cold_s": round(cold, 2),
        "build_warm_s": round(warm, 2),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, action="append", help="library size (repeatable)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="1000 phrases, 1 repeat")
    args = parser.parse_args(argv)
    sizes = [1000] if args.quick else (args.n or [10_000, 100_000])
    repeat = 1 if args.quick else args.repeat
    for n in sizes:
        r = run(n, seed=args.seed, repeat=repeat)
        print(
            f"{n:>7} phrases: p50 {r['p50_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms  "
            f"max {r['max_ms']:.2f} ms  cpu p50 {r['cpu_p50_ms']:.2f} p99 {r['cpu_p99_ms']:.2f} ms"
            f"  (build cold {r['build_cold_s']:.1f} s, "
            f"warm {r['build_warm_s']:.1f} s, {int(r['queries'])} queries)"
        )


if __name__ == "__main__":
    main()
