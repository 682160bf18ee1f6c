"""Generating the day's queue: each rule's occurrences, planned into follow-ups, in SQL.

Two steps. On a read snapshot, without the write lock (agents keep logging touches), every
rule's occurrences due in today's catch-up window go into a temporary table: the heavy kinds
(after delivery, VIP, replenishment by product or category cycle, win-back) by one
``INSERT ... SELECT`` each (``store.occurrences``), the others through their facts query
(``store.facts``) and pure function (``core.kinds``); replenishment's cycle windows on a
second connection meanwhile (``store.occurrence_thread``). Then, under the write lock, a few
statements plan and write them as ``core.lifecycle.plan_day`` plans: known keys, opted-out
customers and chains stopped by a newer order dropped, one follow-up per customer led by the
highest-priority rule, merged into the customer's open follow-up if there is one, the
frequency cap. Planning under the lock sees what another process wrote meanwhile, so nothing
is created twice.

The pure functions stay the reference: ``store.reference.reference_generate`` plans the slow
way (every fact loaded, ``plan_day`` in Python) and the tests compare both, texts included.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

import sqlite_utils

from tui_agent.core import lifecycle as lc
from tui_agent.core.dates import to_db
from tui_agent.core.kinds import OCCURRENCES
from tui_agent.core.rules import Rule, RuleSet
from tui_agent.store.db import get_meta, set_meta, write_tx
from tui_agent.store.facts import FACTS, day_start
from tui_agent.store.occurrence_thread import INSERT as BESIDE_INSERT
from tui_agent.store.occurrence_thread import OccurrenceThread, open_beside
from tui_agent.store.outcomes import live_touch
from tui_agent.store.stale import cancel_stale

DEFERRED = "deferred:"


@dataclass(frozen=True, slots=True)
class GenerateResult:
    created: int
    merged: int
    capped: int
    cancelled: int
    unsnoozed: int
    deferred: int = 0  # put off to tomorrow by the daily capacity


PlanWriter = Callable[[sqlite_utils.Database, date, RuleSet, str], tuple[int, int, int]]
"""``(db, today, rules, stamp)``, under the write lock: plan and write the day's new
follow-ups and merges; returns (new follow-ups, capped among them, merges)."""


# ---------------------------------------------------------------------------------------------
# Which occurrences are due


def occurrences_for_day(
    db: sqlite_utils.Database, today: date, rules: RuleSet, *, live: bool = False
) -> list[lc.Occurrence]:
    """Every rule's occurrences due in today's catch-up window: for each rule, its kind's
    facts query (``store.facts.FACTS``) and pure occurrence function (``core.kinds``), then
    do-not-disturb days applied (``lifecycle.settle``). With ``live`` (the planner), the
    queries may leave out what planning drops anyway (see ``store.facts.FactsQuery``)."""
    wide = replace(rules, catch_up_days=lc.lookback_days(rules, today))
    found: list[lc.Occurrence] = []
    for rule in rules.rules:
        facts = FACTS[rule.kind](db, wide, rule, today, live)
        found += OCCURRENCES[rule.kind](wide, rule, facts, today)
    return lc.settle(rules, found, today)


def data_mark(db: sqlite_utils.Database) -> str:
    """Changes when orders or customers are added: their largest rowids (new rows of a rowid
    table take the largest rowid + 1; reading it is one step down the b-tree)."""
    orders = db.execute("SELECT max(rowid) FROM orders").fetchone()[0]
    customers = db.execute("SELECT max(rowid) FROM customers").fetchone()[0]
    return f"{orders}:{customers}"


def look_back(db: sqlite_utils.Database, today: date, rules: RuleSet) -> RuleSet:
    """The rules with the catch-up shortened to the last generated day (inclusive, so orders
    imported later that day are still seen) when nothing was added since it was generated.
    Occurrence keys make a longer look-back harmless; this only saves reading."""
    last = get_meta(db, "last_generated")
    if not last or last > today.isoformat() or get_meta(db, "generated_mark") != data_mark(db):
        return rules
    back = min(rules.catch_up_days, (today - date.fromisoformat(last)).days)
    return replace(rules, catch_up_days=back)


# ---------------------------------------------------------------------------------------------
# The occurrence table

_TABLES = """
DROP TABLE IF EXISTS temp._rules;
CREATE TEMP TABLE _rules (
    ri INTEGER PRIMARY KEY,     -- the rule's place in the rule set
    id TEXT NOT NULL, stage TEXT NOT NULL, stop INTEGER NOT NULL, service INTEGER NOT NULL,
    rank INTEGER NOT NULL       -- 0 for the highest priority
);
DROP TABLE IF EXISTS temp._occ;
CREATE TEMP TABLE _occ (
    seq INTEGER PRIMARY KEY,    -- the order found (plan_day keeps the first of a key)
    key TEXT NOT NULL, customer_id TEXT NOT NULL, ri INTEGER NOT NULL,
    due TEXT NOT NULL,          -- YYYY-MM-DD
    text TEXT NOT NULL, order_id TEXT,
    anchor TEXT,                -- when the anchoring order was placed (to_db)
    product TEXT, category TEXT, assumed INTEGER NOT NULL,
    checked INTEGER NOT NULL DEFAULT 0  -- opt-out and stopped chains already left out
);
DROP TABLE IF EXISTS temp._own;
CREATE TEMP TABLE _own (        -- lines with the customer's own replenishment cycle
    ri INTEGER, order_id TEXT, line_no INTEGER, PRIMARY KEY (ri, order_id, line_no)
)
"""

OCC_INSERT = (
    "INSERT INTO _occ (key, customer_id, ri, due, text, order_id, anchor, product, category, "
    "assumed) VALUES (?,?,?,?,?,?,?,?,?,?)"
)


def occurrence_rows(
    occurrences: Sequence[lc.Occurrence], index: dict[str, int]
) -> list[tuple[Any, ...]]:
    """Rows of ``_occ`` for occurrences found in Python (``index``: rule id -> place), each
    key once (the first: a key names one rule's one occurrence, so its copies are equal)."""
    rows: dict[str, tuple[Any, ...]] = {}
    for o in occurrences:
        if o.key not in rows:
            rows[o.key] = (
                o.key,
                o.customer_id,
                index[o.rule.id],
                o.due.isoformat(),
                o.text,
                o.order_id,
                to_db(o.anchor_at),
                o.product,
                o.category,
                int(o.delivery_assumed),
            )
    return list(rows.values())


def start_occurrences(db: sqlite_utils.Database, rules: RuleSet) -> dict[str, int]:
    """(Re)create the temporary tables; returns rule id -> place in the rule set."""
    for statement in _TABLES.split(";"):
        db.execute(statement)
    ranks = {p: n for n, p in enumerate(sorted({r.priority for r in rules.rules}, reverse=True))}
    db.conn.executemany(
        "INSERT INTO _rules VALUES (?,?,?,?,?,?)",
        [
            (i, r.id, r.stage.value, int(r.stop_on_repurchase), int(r.service), ranks[r.priority])
            for i, r in enumerate(rules.rules)
        ],
    )
    return {r.id: i for i, r in enumerate(rules.rules)}


def settle_occurrences(db: sqlite_utils.Database, rules: RuleSet, today: date) -> None:
    """``lifecycle.settle`` over ``_occ``: nothing on a do-not-disturb day; an occurrence due
    on one moves to the next allowed day (said in its text), and stays only if that is not
    after today."""
    if today in rules.quiet_days:
        db.execute("DELETE FROM _occ")
        return
    if not rules.quiet_days:
        return
    first = lc.window_start(rules, today)
    moves = []
    day = first
    while day <= today:
        if day in rules.quiet_days:
            moves.append((day.isoformat(), rules.next_allowed(day).isoformat()))
        day += timedelta(days=1)
    db.execute("DROP TABLE IF EXISTS temp._moved")
    db.execute("CREATE TEMP TABLE _moved (day TEXT PRIMARY KEY, to_day TEXT NOT NULL)")
    db.conn.executemany("INSERT INTO _moved VALUES (?, ?)", moves)
    db.execute(
        "DELETE FROM _occ WHERE due < ? OR due > ? "
        "OR due IN (SELECT day FROM _moved WHERE to_day > ?)",
        [first.isoformat(), today.isoformat(), today.isoformat()],
    )
    db.execute(
        "UPDATE _occ SET text = text || '; moved from ' || due || ' (do-not-disturb)', "
        "due = (SELECT to_day FROM _moved m WHERE m.day = _occ.due) "
        "WHERE due IN (SELECT day FROM _moved)"
    )


SqlKind = Callable[[sqlite_utils.Database, RuleSet, Rule, int, date], None]


def collect(
    db: sqlite_utils.Database,
    today: date,
    rules: RuleSet,
    beside: OccurrenceThread | None = None,
) -> None:
    """Fill ``_occ`` with every rule's occurrences due in today's window (``rules`` with the
    catch-up already shortened by :func:`look_back`), settled on do-not-disturb days. With
    ``beside`` (opened before this snapshot began), a part of the kinds in
    ``occurrences.SPLIT`` is collected on it meanwhile."""
    from tui_agent.store.occurrences import SPLIT, SQL_KINDS

    index = start_occurrences(db, rules)
    wide = replace(rules, catch_up_days=lc.lookback_days(rules, today))
    split = {i: SPLIT[r.kind] for i, r in enumerate(rules.rules) if r.kind in SPLIT}
    if beside is not None and split:
        beside.start(
            rules, wide, today, [(i, s.beside) for i, s in split.items()], start_occurrences
        )
    for i, rule in enumerate(rules.rules):
        sql_kind = SQL_KINDS.get(rule.kind)
        if beside is not None and i in split:
            split[i].here(db, wide, rule, i, today)
        elif sql_kind is not None:
            sql_kind(db, wide, rule, i, today)
        else:
            facts = FACTS[rule.kind](db, wide, rule, today, True)
            found = OCCURRENCES[rule.kind](wide, rule, facts, today)
            db.conn.executemany(OCC_INSERT, occurrence_rows(found, index))
    if beside is not None and split:
        rows = beside.rows()
        if rows is not None:
            db.conn.executemany(BESIDE_INSERT, rows)
        for i, s in split.items():
            if rows is None:  # not the same snapshot, or it failed: here, then
                s.alone(db, wide, rules.rules[i], i, today)
            else:
                s.join(db, rules.rules[i], i)
    settle_occurrences(db, rules, today)


# ---------------------------------------------------------------------------------------------
# Planning and writing, set-based


def stopped_sql(end: str, alias: str = "o", anchor: str = "ordered_at") -> str:
    """SQL: the chain anchored on ``{alias}.{anchor}`` is stopped by a newer order of the
    customer ``c`` (``core.lifecycle.stopped_by_repurchase``) as planning sees it: placed by
    ``end``, the end of the planned day (planning a past day, a later order had not happened
    yet). ``c.last_order_at`` answers, unless it is after ``end``."""
    at = f"{alias}.{anchor}"
    return (
        f"coalesce(c.last_order_at > {at} AND (c.last_order_at < '{end}' OR EXISTS "
        f"(SELECT 1 FROM orders n WHERE n.customer_id = c.customer_id AND n.ordered_at > {at} "
        f"AND n.ordered_at < '{end}')), 0)"
    )


def tags_of(rules: RuleSet, order: Sequence[int], start: Sequence[str] = ()) -> list[str]:
    """The suggested tags of occurrences of these rules (places in the rule set, in the
    follow-up's order): each rule's tags, first seen first, after ``start``."""
    tags = list(start)
    for ri in order:
        tags.extend(t for t in rules.rules[ri].tags if t not in tags)
    return tags


@dataclass(slots=True)
class _Planned:
    """One customer's occurrences, in the follow-up's order (the first leads)."""

    customer_id: str
    lead: int  # the leading occurrence's rule (place in the rule set)
    order_id: str | None
    due: str  # the earliest due day
    service: bool
    rules: list[int]
    seqs: list[int]
    pending: int | None  # the open follow-up the occurrences merge into


def _kept(db: sqlite_utils.Database, today: date) -> list[_Planned]:
    """What ``plan_day`` keeps of ``_occ``, by customer, each customer's occurrences sorted
    as it sorts them (priority, due day, key). Rows from the SQL kinds were checked against
    the customer (opt-out, stopped chains) when found; the others are checked here. Keys
    written meanwhile (another process) are left out."""
    end = day_start(today + timedelta(days=1))
    fresh = "NOT EXISTS (SELECT 1 FROM follow_up_reasons f WHERE f.key = o.key)"
    cols = "o.seq, o.customer_id, o.ri, o.due, o.order_id, r.service, r.rank, o.key"
    rows = db.execute(
        "SELECT seq, customer_id, ri, due, order_id, service, "
        # the customer's open follow-up, if any: the day's occurrences merge into it (the
        # lowest id); a campaign's follow-up is its own touch, never merged into
        "(SELECT min(f.id) FROM follow_ups f WHERE f.customer_id = x.customer_id "
        "AND f.status IN ('pending', 'snoozed') AND f.stage != 'campaign') FROM ("
        f"SELECT {cols} FROM _occ o JOIN _rules r ON r.ri = o.ri WHERE o.checked AND {fresh} "
        f"UNION ALL SELECT {cols} FROM _occ o JOIN _rules r ON r.ri = o.ri "
        f"WHERE NOT o.checked AND {fresh} AND EXISTS (SELECT 1 FROM customers c "
        "WHERE c.customer_id = o.customer_id AND NOT c.opt_out "
        f"AND NOT (r.stop AND o.anchor IS NOT NULL AND {stopped_sql(end, 'o', 'anchor')}))) x "
        "ORDER BY customer_id, rank, due, key"
    ).fetchall()
    out: list[_Planned] = []
    cur: _Planned | None = None
    for seq, cid, ri, due, order_id, service, pending in rows:
        if cur is None or cid != cur.customer_id:
            cur = _Planned(cid, ri, order_id, due, bool(service), [ri], [seq], pending)
            out.append(cur)
            continue
        cur.rules.append(ri)
        cur.seqs.append(seq)
        cur.service = cur.service or bool(service)
        if due < cur.due:
            cur.due = due
    return out


def plan_and_write(
    db: sqlite_utils.Database, today: date, rules: RuleSet, stamp: str
) -> tuple[int, int, int]:
    """Plan ``_occ`` as ``core.lifecycle.plan_day`` does and write it (see the module doc)."""
    planned = _kept(db, today)
    first = db.execute("SELECT coalesce(max(id), 0) + 1 FROM follow_ups").fetchone()[0]
    tag_text: dict[tuple[int, ...], str] = {}
    new: list[tuple[Any, ...]] = []
    merges: list[tuple[_Planned, int]] = []
    order: list[tuple[int, int]] = []
    for p in planned:
        if p.pending is not None:
            merges.append((p, p.pending))
            continue
        fid = first + len(new)
        seq = tuple(p.rules)
        tags = tag_text.get(seq)
        if tags is None:
            tags = tag_text[seq] = ",".join(tags_of(rules, seq))
        new.append((fid, p.customer_id, p.lead, tags, p.due, p.order_id, int(p.service)))
        order += [(s, fid) for s in p.seqs]
    for p, fid in merges:
        order += [(s, fid) for s in p.seqs]
    db.execute("DROP TABLE IF EXISTS temp._fu")
    db.execute(
        "CREATE TEMP TABLE _fu (id INTEGER PRIMARY KEY, customer_id TEXT, ri INTEGER, "
        "tags TEXT, due TEXT, order_id TEXT, service INTEGER)"
    )
    db.conn.executemany("INSERT INTO _fu VALUES (?,?,?,?,?,?,?)", new)
    midnight = datetime.combine(today, datetime.min.time())
    cap = rules.cap
    capped = (
        "CASE WHEN f.service THEN NULL "
        "WHEN n24 >= :p24 THEN 'cap: ' || n24 || ' touch(es) in the last 24 h (limit ' || :p24 "
        "|| ')' WHEN n7 >= :p7 THEN 'cap: ' || n7 || ' touch(es) in the last 7 days (limit ' "
        "|| :p7 || ')' END"
    )
    # The customer's proactive live touches in the 24 hours and 7 days before midnight (and
    # after it): a look-up in idx_touches_customer_at per new follow-up, not a pass over
    # every touch of the shop's history (which only grows).
    touches = (
        "(SELECT count(*) FROM touches t WHERE t.customer_id = f.customer_id AND t.at >= {since} "
        f"AND t.reply = 0 AND {live_touch('t')})"
    )
    db.execute(
        "INSERT INTO follow_ups (id, customer_id, stage, rule, suggested_tags, due_date, status, "
        "status_reason, order_id, created_at, updated_at) "
        "SELECT id, customer_id, stage, rule, tags, due, "
        "CASE WHEN capped IS NULL THEN 'pending' ELSE 'skipped' END, capped, order_id, "
        ":stamp, :stamp FROM (SELECT f.id, f.customer_id, r.stage, r.id AS rule, f.tags, f.due, "
        f"f.order_id, {capped} AS capped FROM (SELECT *, {touches.format(since=':t24')} AS n24, "
        f"{touches.format(since=':t7')} AS n7 FROM _fu f) f JOIN _rules r ON r.ri = f.ri "
        "ORDER BY f.id)",
        {
            "stamp": stamp,
            "p24": cap.per_24h,
            "p7": cap.per_7d,
            "t24": to_db(midnight - timedelta(hours=24)),
            "t7": to_db(midnight - timedelta(days=7)),
        },
    )
    n_capped = db.execute(
        "SELECT count(*) FROM follow_ups WHERE id >= ? AND status = 'skipped'", [first]
    ).fetchone()[0]
    # Reasons: the new follow-ups' first, then the merged ones', each in its follow-up's order.
    db.execute("DROP TABLE IF EXISTS temp._order")
    db.execute("CREATE TEMP TABLE _order (seq INTEGER, fid INTEGER)")
    db.conn.executemany("INSERT INTO _order VALUES (?, ?)", order)
    db.execute(
        "INSERT INTO follow_up_reasons (key, follow_up_id, rule, text, order_id, product, "
        "category, delivery_assumed) "
        "SELECT o.key, x.fid, r.id, o.text, o.order_id, o.product, o.category, o.assumed "
        "FROM _order x JOIN _occ o ON o.seq = x.seq JOIN _rules r ON r.ri = o.ri "
        "ORDER BY x.rowid"
    )
    _merge(db, rules, merges, stamp)
    return len(new), n_capped, len(merges)


def _merge(
    db: sqlite_utils.Database, rules: RuleSet, merges: list[tuple[_Planned, int]], stamp: str
) -> None:
    """The merged occurrences' rule tags added to the open follow-ups they joined; the
    leading rule replaces the follow-up's when its priority is higher (or the follow-up's
    rule is no longer in the rule set)."""
    current: dict[int, tuple[str, str]] = {}
    ids = [fid for _, fid in merges]
    for i in range(0, len(ids), 500):
        part = ids[i : i + 500]
        marks = ",".join("?" * len(part))
        for fid, rule, tags in db.execute(
            f"SELECT id, rule, suggested_tags FROM follow_ups WHERE id IN ({marks})", part
        ):
            current[fid] = (rule, tags)
    leads, tags_only = [], []
    by_id = {r.id: r for r in reversed(rules.rules)}  # RuleSet.by_id: the first of an id
    merged: dict[tuple[str, tuple[int, ...]], str] = {}
    for p, fid in merges:
        rule_id, old_tags = current[fid]
        key = (old_tags, tuple(p.rules))
        tags = merged.get(key)
        if tags is None:
            start = [t for t in old_tags.split(",") if t]
            tags = merged[key] = ",".join(tags_of(rules, p.rules, start))
        lead = rules.rules[p.lead]
        now_rule = by_id.get(rule_id)
        if now_rule is None or lead.priority > now_rule.priority:
            leads.append((lead.id, lead.stage.value, p.order_id, tags, stamp, fid))
        else:
            tags_only.append((tags, stamp, fid))
    db.conn.executemany(
        "UPDATE follow_ups SET rule = ?, stage = ?, order_id = ?, suggested_tags = ?, "
        "updated_at = ? WHERE id = ?",
        leads,
    )
    db.conn.executemany(
        "UPDATE follow_ups SET suggested_tags = ?, updated_at = ? WHERE id = ?", tags_only
    )


# ---------------------------------------------------------------------------------------------
# The day


def generate(
    db: sqlite_utils.Database, today: date, rules: RuleSet, *, now: datetime | None = None
) -> GenerateResult:
    """Create the follow-ups due on ``today``. Idempotent: a second run creates nothing new.

    The occurrences are found on a snapshot without the write lock, so agents keep logging
    touches meanwhile; planning and writing then take the lock and commit as one transaction.
    Days already generated need not be read again, unless orders or customers were added
    since (an order imported after its day was generated still gets the occurrences within
    ``catch_up_days``): see :func:`look_back`.
    """
    stamp = to_db(now or datetime.now())
    assert stamp is not None
    from tui_agent.store.occurrences import SPLIT

    beside = open_beside(db) if any(r.kind in SPLIT for r in rules.rules) else None
    db.execute("BEGIN")
    try:
        collect(db, today, look_back(db, today, rules), beside)
        seen = int(db.execute("PRAGMA data_version").fetchone()[0])
    finally:
        db.execute("COMMIT")
        if beside is not None:
            beside.close()  # on an error before it started
    return write_day(db, today, rules, stamp, now, plan_and_write, seen)


def write_day(
    db: sqlite_utils.Database,
    today: date,
    rules: RuleSet,
    stamp: str,
    now: datetime | None,
    write_plan: PlanWriter,
    seen: int | None = None,
) -> GenerateResult:
    """Under the write lock: snoozed follow-ups due back, the day's plan (``write_plan``),
    chains stopped since, the daily capacity; then the campaigns' members of the day.

    ``seen``: the database's ``data_version`` when the plan's facts were read. When no other
    connection has written since, the follow-ups just created are planned from what is
    there now (nothing changed): opted-out customers and stopped chains were left out, and
    the stale check need not look at them (on the first day, all of the open ones)."""
    with write_tx(db):
        unchanged = seen == db.execute("PRAGMA data_version").fetchone()[0]
        first = db.execute("SELECT coalesce(max(id), 0) + 1 FROM follow_ups").fetchone()[0]
        unsnoozed = db.execute(
            "UPDATE follow_ups SET status = 'pending', snoozed_until = NULL, updated_at = ? "
            "WHERE status = 'snoozed' AND snoozed_until <= ?",
            [stamp, today.isoformat()],
        ).rowcount
        new, capped, merged = write_plan(db, today, rules, stamp)
        cancelled = cancel_stale(db, rules, stamp, today, first if unchanged else None)
        deferred = _defer_over_capacity(db, today, rules, stamp)
        set_meta(db, "last_generated", today.isoformat())
        set_meta(db, "generated_mark", data_mark(db))
    running = db.execute(
        "SELECT EXISTS (SELECT 1 FROM campaigns WHERE status = 'active' AND start_date <= ?)",
        [today.isoformat()],
    ).fetchone()[0]
    if running:  # else not even imported (the campaigns and their analytics: ~40 ms)
        from tui_agent.store.campaigns import schedule_campaigns  # campaigns import followups

        schedule_campaigns(db, today, rules, now=now)
    return GenerateResult(new - capped, merged, capped, cancelled, unsnoozed, deferred)


def _defer_over_capacity(
    db: sqlite_utils.Database, today: date, rules: RuleSet, stamp: str | None
) -> int:
    """Defer the follow-ups beyond ``[work] daily_capacity`` to tomorrow (snoozed, with the
    reason); the choice is :func:`core.lifecycle.capacity_cut`."""
    if rules.daily_capacity <= 0:
        return 0
    start, end = day_start(today), day_start(today + timedelta(days=1))
    done = db.execute(
        "SELECT count(*) FROM follow_ups WHERE status IN ('done', 'skipped') "
        "AND updated_at >= ? AND updated_at < ? AND coalesce(status_reason, '') NOT LIKE 'cap:%'",
        [start, end],
    ).fetchone()[0]
    priority = {r.id: r.priority for r in rules.rules}
    items = [
        lc.QueueItem(
            fid, date.fromisoformat(due), priority.get(rule, 0), value or 0.0, n, bool(who)
        )
        for fid, due, rule, value, n, who in db.execute(
            "SELECT f.id, f.due_date, f.rule, c.total_spent, f.deferrals, f.claimed_by "
            "FROM follow_ups f JOIN customers c ON c.customer_id = f.customer_id "
            "WHERE f.status = 'pending' AND f.due_date <= ?",
            [today.isoformat()],
        )
    ]
    cut = lc.capacity_cut(items, rules.daily_capacity, done, rules.max_deferrals)
    until = (today + timedelta(days=1)).isoformat()
    reason = f"{DEFERRED} daily capacity {rules.daily_capacity} reached on {today.isoformat()}"
    db.conn.executemany(
        "UPDATE follow_ups SET status = 'snoozed', snoozed_until = ?, status_reason = ?, "
        "deferrals = deferrals + 1, updated_at = ? WHERE id = ?",
        [(until, reason, stamp, fid) for fid in cut],
    )
    return len(cut)
