"""Campaigns in the database: the audience query, members, their daily follow-ups, the report.

A member of the contact group becomes a follow-up of stage ``campaign`` on the day it is
worked (``schedule_campaigns``, called by the day's generation, by ``create`` and by
``resume``); from there the console works it like any other follow-up. The decisions
(holdout, pacing, the cap) are ``core.campaigns``'s.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlite_utils

from tui_agent.core import campaigns as cc
from tui_agent.core.dates import from_db_date, to_db
from tui_agent.core.models import FollowUp
from tui_agent.core.rules import RuleSet
from tui_agent.store import followups as fu
from tui_agent.store.db import write_tx

DEFAULT_WINDOW_DAYS = 14
_CHUNK = 500


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def reason_text(name: str) -> str:
    return f"营销活动 campaign: {name}"


# ---------------------------------------------------------------------------------------------
# Audience


@dataclass(frozen=True, slots=True)
class AudienceMember:
    customer_id: str
    opt_out: bool


def select_audience(
    db: sqlite_utils.Database, audience: cc.Audience, today: date
) -> list[AudienceMember]:
    """Customers matching every filter, most valuable first (the order they are worked in)."""
    where: list[str] = []
    params: list[Any] = []
    for tag in audience.tags:
        where.append("instr(',' || coalesce(c.tags, '') || ',', ',' || ? || ',') > 0")
        params.append(tag)
    if audience.tier is not None:
        where.append("c.tier = ?")
        params.append(audience.tier)
    if audience.last_order_before is not None:
        where.append("c.last_order_at < ?")
        params.append(f"{audience.last_order_before.isoformat()} 00:00:00")
    if audience.last_order_after is not None:
        where.append("c.last_order_at >= ?")
        params.append(f"{audience.last_order_after.isoformat()} 00:00:00")
    if audience.min_orders is not None:
        where.append("c.order_count >= ?")
        params.append(audience.min_orders)
    if audience.category is not None:
        where.append(
            "c.customer_id IN (SELECT o.customer_id FROM order_lines l "
            "JOIN orders o ON o.order_id = l.order_id LEFT JOIN products p ON p.sku = l.sku "
            "WHERE coalesce(l.category, p.category) = ? COLLATE NOCASE)"
        )
        params.append(audience.category)
    sql = "SELECT c.customer_id, c.opt_out FROM customers c"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY c.total_spent DESC, c.customer_id"
    rows = [AudienceMember(r[0], bool(r[1])) for r in db.execute(sql, params).fetchall()]
    if audience.customer_ids is not None:
        listed = set(audience.customer_ids)
        rows = [r for r in rows if r.customer_id in listed]
    if audience.segment is not None:
        from tui_agent.store.analytics import segments_for  # scoring needs the analytics code

        seg = segments_for(db, [r.customer_id for r in rows], today)
        rows = [r for r in rows if seg.get(r.customer_id) == audience.segment]
    return rows


def unknown_customers(db: sqlite_utils.Database, ids: Sequence[str]) -> list[str]:
    """The listed ids that are not customers of the shop (to report, never to add)."""
    known: set[str] = set()
    for chunk in _chunks(list(ids)):
        marks = ",".join("?" * len(chunk))
        known.update(
            r[0]
            for r in db.execute(
                f"SELECT customer_id FROM customers WHERE customer_id IN ({marks})", list(chunk)
            )
        )
    return [i for i in ids if i not in known]


def _cap_facts(
    db: sqlite_utils.Database, ids: Sequence[str], today: date
) -> tuple[dict[str, int], dict[str, int], set[str]]:
    """Touches in the last 24 h and 7 days (as the lifecycle counts them) and the customers
    with another open follow-up due by ``today``."""
    c24, c7 = fu.touch_counts(db, ids, datetime.combine(today, time()))
    busy: set[str] = set()
    for chunk in _chunks(list(ids)):
        marks = ",".join("?" * len(chunk))
        busy.update(
            r[0]
            for r in db.execute(
                f"SELECT DISTINCT customer_id FROM follow_ups WHERE status = 'pending' "
                f"AND due_date <= ? AND customer_id IN ({marks})",
                [today.isoformat(), *chunk],
            )
        )
    return c24, c7, busy


@dataclass(frozen=True, slots=True)
class Preview:
    """What ``create`` would do (``--dry-run``), or did."""

    audience: int
    contact: int
    holdout: int
    opted_out: int  # in the contact group, never contacted
    capped: int  # in the contact group, over the cap on the start day (they wait)
    samples: tuple[str, ...]  # customer ids of the first contact members who can be worked
    added: int = 0  # members written now (0 on a dry run; on a re-run, the newcomers)
    existing: int = 0  # members already in the campaign before this run


def preview(
    db: sqlite_utils.Database,
    audience: cc.Audience,
    holdout_pct: float,
    seed: str,
    today: date,
    rules: RuleSet,
    *,
    samples: int = 3,
) -> Preview:
    """Size the audience and its groups without writing anything."""
    rows = select_audience(db, audience, today)
    contact = [r for r in rows if not cc.in_holdout(seed, r.customer_id, holdout_pct)]
    ids = [r.customer_id for r in contact if not r.opt_out]
    c24, c7, busy = _cap_facts(db, ids, today)
    cand = [cc.Candidate(cid, False, c24.get(cid, 0), c7.get(cid, 0), cid in busy) for cid in ids]
    pick = cc.pick_day(cand, len(cand), rules.cap)
    return Preview(
        audience=len(rows),
        contact=len(contact),
        holdout=len(rows) - len(contact),
        opted_out=sum(r.opt_out for r in contact),
        capped=len(pick.capped),
        samples=pick.schedule[:samples],
    )


# ---------------------------------------------------------------------------------------------
# Campaigns


def _campaign(row: Sequence[Any]) -> cc.Campaign:
    start = from_db_date(row[7])
    assert start is not None
    return cc.Campaign(
        id=row[0],
        name=row[1],
        phrase_id=row[2],
        audience=cc.Audience.from_json(row[3]),
        holdout_pct=float(row[4]),
        seed=row[5],
        start=start,
        per_day=row[6],
        status=row[8],
        created_by=row[9],
    )


_CAMPAIGN_SQL = (
    "SELECT id, name, phrase_id, audience, holdout_pct, seed, per_day, start_date, status, "
    "created_by FROM campaigns"
)


def get_campaign(db: sqlite_utils.Database, name: str) -> cc.Campaign | None:
    row = db.execute(_CAMPAIGN_SQL + " WHERE name = ?", [name]).fetchone()
    return None if row is None else _campaign(row)


def list_campaigns(db: sqlite_utils.Database) -> list[cc.Campaign]:
    return [_campaign(r) for r in db.execute(_CAMPAIGN_SQL + " ORDER BY id").fetchall()]


def create(
    db: sqlite_utils.Database,
    wanted: cc.Campaign,
    today: date,
    rules: RuleSet,
    *,
    now: datetime | None = None,
) -> Preview:
    """Create the campaign, or merge into the one of that name when the settings are the same.

    A re-run with the same name and the same phrase, audience, holdout, seed, start and
    pacing adds the customers who match the audience now and are not members yet (nobody
    is removed, nobody changes group: the holdout draw is per customer). Different settings
    under an existing name are refused (CampaignError), and nothing is written.
    Today's share of the work is scheduled at once when the campaign has started.
    """
    stamp = to_db(now or datetime.now())
    rows = select_audience(db, wanted.audience, today)
    with write_tx(db):
        existing = get_campaign(db, wanted.name)
        if existing is not None:
            if existing.status == "ended":
                raise cc.CampaignError(f"campaign {wanted.name!r} has ended; choose another name")
            if not existing.same_settings(wanted):
                raise cc.CampaignError(
                    f"campaign {wanted.name!r} exists with different "
                    f"{', '.join(existing.differences(wanted))}; re-running create merges "
                    "only with the same settings (choose another name)"
                )
            campaign_id = existing.id
        else:
            new_id = db.execute(
                "INSERT INTO campaigns (name, phrase_id, audience, holdout_pct, seed, start_date, "
                "per_day, status, created_by, created_at, updated_at) "
                "VALUES (?,?,?,?,?,?,?,'active',?,?,?)",
                [
                    wanted.name,
                    wanted.phrase_id,
                    wanted.audience.to_json(),
                    wanted.holdout_pct,
                    wanted.seed,
                    wanted.start.isoformat(),
                    wanted.per_day,
                    wanted.created_by,
                    stamp,
                    stamp,
                ],
            ).lastrowid
            assert new_id is not None
            campaign_id = new_id
        have = {
            r[0]
            for r in db.execute(
                "SELECT customer_id FROM campaign_members WHERE campaign_id = ?", [campaign_id]
            )
        }
        first = db.execute(
            "SELECT coalesce(max(position), 0) + 1 FROM campaign_members WHERE campaign_id = ?",
            [campaign_id],
        ).fetchone()[0]
        new = [r for r in rows if r.customer_id not in have]
        members = []
        for pos, r in enumerate(new, start=first):
            holdout = cc.in_holdout(wanted.seed, r.customer_id, wanted.holdout_pct)
            state = "holdout" if holdout else ("opted_out" if r.opt_out else "waiting")
            grp = "holdout" if holdout else "contact"
            members.append((campaign_id, r.customer_id, grp, state, pos, stamp, stamp))
        db.conn.executemany(
            "INSERT INTO campaign_members (campaign_id, customer_id, grp, state, position, "
            "added_at, updated_at) VALUES (?,?,?,?,?,?,?)",
            members,
        )
    if wanted.start <= today:
        schedule_campaigns(db, today, rules, now=now)
    counts = member_counts(db, wanted.name)
    return Preview(
        audience=counts["members"],
        contact=counts["contact"],
        holdout=counts["holdout"],
        opted_out=counts["opted_out"],
        capped=counts["capped"],
        samples=(),
        added=len(new),
        existing=len(have),
    )


def schedule_campaigns(
    db: sqlite_utils.Database, today: date, rules: RuleSet, *, now: datetime | None = None
) -> int:
    """Turn today's share of every running campaign into follow-ups. Returns how many.

    Idempotent within a day: a campaign's ``per_day`` counts the follow-ups it already made
    today. Opted-out members are marked and never scheduled; members over the frequency cap
    (or with another follow-up due today) wait as ``capped`` with the reason and are tried
    first on the next day. Called by the day's generation after the lifecycle, so a
    lifecycle follow-up due today wins and the campaign touch waits for a later day.
    """
    stamp = to_db(now or datetime.now()) or ""
    day = today.isoformat()
    created = 0
    if not any(c.status == "active" and c.start <= today for c in list_campaigns(db)):
        return 0  # the usual day: no write transaction at all
    with write_tx(db):
        running = [c for c in list_campaigns(db) if c.status == "active" and c.start <= today]
        taken: set[str] = set()  # customers scheduled by an earlier campaign in this run
        for c in running:
            done_today = db.execute(
                "SELECT count(*) FROM campaign_members m JOIN follow_ups f "
                "ON f.id = m.follow_up_id WHERE m.campaign_id = ? AND f.due_date = ? "
                "AND f.stage = 'campaign'",
                [c.id, day],
            ).fetchone()[0]
            quota = cc.day_quota(c.per_day, done_today)
            rows = db.execute(
                "SELECT m.customer_id, c.opt_out FROM campaign_members m "
                "JOIN customers c ON c.customer_id = m.customer_id "
                "WHERE m.campaign_id = ? AND m.state IN ('waiting', 'capped') "
                "ORDER BY m.state = 'capped' DESC, m.position",
                [c.id],
            ).fetchall()
            # Cap facts are read a chunk at a time, only until today's quota is filled: a big
            # campaign's later members are not looked at until their turn comes.
            for part in _chunks(rows):
                if quota <= 0:
                    break
                ids = [r[0] for r in part]
                c24, c7, busy = _cap_facts(db, ids, today)
                cands = [
                    cc.Candidate(
                        cid, bool(opt), c24.get(cid, 0), c7.get(cid, 0), cid in busy or cid in taken
                    )
                    for cid, opt in part
                ]
                pick = cc.pick_day(cands, quota, rules.cap)
                db.conn.executemany(
                    "UPDATE campaign_members SET state = 'opted_out', "
                    "reason = 'customer opted out', updated_at = ? "
                    "WHERE campaign_id = ? AND customer_id = ?",
                    [(stamp, c.id, cid) for cid in pick.opted_out],
                )
                db.conn.executemany(
                    "UPDATE campaign_members SET state = 'capped', reason = ?, updated_at = ? "
                    "WHERE campaign_id = ? AND customer_id = ?",
                    [(why, stamp, c.id, cid) for cid, why in pick.capped.items()],
                )
                for cid in pick.schedule:
                    _new_follow_up(db, c, cid, day, "pending", stamp)
                taken.update(pick.schedule)
                created += len(pick.schedule)
                quota -= len(pick.schedule)
    return created


def _new_follow_up(
    db: sqlite_utils.Database, c: cc.Campaign, customer_id: str, day: str, status: str, stamp: str
) -> int:
    fid = db.execute(
        "INSERT INTO follow_ups (customer_id, stage, rule, suggested_tags, due_date, status, "
        "created_at, updated_at) VALUES (?, 'campaign', 'campaign', '', ?, ?, ?, ?)",
        [customer_id, day, status, stamp, stamp],
    ).lastrowid
    assert fid is not None
    db.execute(
        "INSERT INTO follow_up_reasons (key, follow_up_id, rule, text) VALUES (?,?,?,?)",
        [f"campaign:{c.id}:{customer_id}:{fid}", fid, "campaign", reason_text(c.name)],
    )
    db.execute(
        "UPDATE campaign_members SET state = 'scheduled', reason = NULL, follow_up_id = ?, "
        "updated_at = ? WHERE campaign_id = ? AND customer_id = ?",
        [fid, stamp, c.id, customer_id],
    )
    return fid


def _require(db: sqlite_utils.Database, name: str) -> cc.Campaign:
    found = get_campaign(db, name)
    if found is None:
        raise cc.CampaignError(f"no campaign {name!r} (tui-agent campaign list)")
    return found


def set_status(
    db: sqlite_utils.Database,
    name: str,
    status: str,
    today: date,
    rules: RuleSet,
    *,
    now: datetime | None = None,
) -> int:
    """Pause, resume or end a campaign. Returns the open follow-ups cancelled (pause, end).

    Pausing cancels its open follow-ups and puts those members back in the waiting line;
    resuming schedules today's share again; ending cancels the open follow-ups and closes
    every member not yet worked. A follow-up already worked stays as it was.
    """
    if status not in cc.STATUSES:
        raise cc.CampaignError(f"unknown status {status!r}")
    stamp = to_db(now or datetime.now())
    with write_tx(db):
        c = _require(db, name)
        if c.status == "ended":
            raise cc.CampaignError(f"campaign {name!r} has ended")
        if c.status == status:
            raise cc.CampaignError(f"campaign {name!r} is already {status}")
        cancelled = 0
        if status in ("paused", "ended"):
            why = f"campaign {status}"
            cancelled = db.execute(
                "UPDATE follow_ups SET status = 'cancelled', status_reason = ?, "
                "claimed_by = NULL, updated_at = ? WHERE status IN ('pending', 'snoozed') "
                "AND id IN (SELECT follow_up_id FROM campaign_members WHERE campaign_id = ?)",
                [why, stamp, c.id],
            ).rowcount
            if status == "paused":
                db.execute(
                    "UPDATE campaign_members SET state = 'waiting', follow_up_id = NULL, "
                    "updated_at = ? WHERE campaign_id = ? AND state = 'scheduled' AND "
                    "follow_up_id IN (SELECT id FROM follow_ups WHERE status = 'cancelled')",
                    [stamp, c.id],
                )
            else:
                db.execute(
                    "UPDATE campaign_members SET state = 'ended', reason = 'campaign ended', "
                    "updated_at = ? WHERE campaign_id = ? AND (state IN ('waiting', 'capped') "
                    "OR (state = 'scheduled' AND follow_up_id IN "
                    "(SELECT id FROM follow_ups WHERE status = 'cancelled' "
                    "AND status_reason = 'campaign ended')))",
                    [stamp, c.id],
                )
        db.execute(
            "UPDATE campaigns SET status = ?, updated_at = ? WHERE id = ?", [status, stamp, c.id]
        )
    if status == "active" and c.start <= today:
        schedule_campaigns(db, today, rules, now=now)
    return cancelled


# ---------------------------------------------------------------------------------------------
# Progress


_COUNTS_SQL = """
SELECT count(*),
    total(m.grp = 'contact'),
    total(m.grp = 'holdout'),
    total(m.grp = 'contact' AND c.opt_out = 1 AND coalesce(f.status, '') != 'done'),
    total(m.state = 'capped' AND c.opt_out = 0),
    total(m.state = 'waiting' AND c.opt_out = 0),
    total(m.state = 'scheduled' AND f.status IN ('pending', 'snoozed') AND c.opt_out = 0),
    total(f.status = 'done'),
    total(f.status = 'skipped'),
    total(m.state = 'ended')
FROM campaign_members m
JOIN customers c ON c.customer_id = m.customer_id
LEFT JOIN follow_ups f ON f.id = m.follow_up_id
WHERE m.campaign_id = ?
"""
_COUNT_KEYS = (
    "members",
    "contact",
    "holdout",
    "opted_out",
    "capped",
    "waiting",
    "scheduled",
    "done",
    "skipped",
    "cancelled",
)


def member_counts(db: sqlite_utils.Database, name: str) -> dict[str, int]:
    """Integer counts: members (both groups), contact, holdout, opted_out, capped (waiting for
    the cap), waiting (not yet scheduled), scheduled (open follow-up), done (touched),
    skipped, cancelled (left when the campaign ended)."""
    c = _require(db, name)
    row = db.execute(_COUNTS_SQL, [c.id]).fetchone()
    return {k: int(v or 0) for k, v in zip(_COUNT_KEYS, row, strict=True)}


def capped_reasons(db: sqlite_utils.Database, name: str, limit: int = 5) -> list[tuple[str, str]]:
    c = _require(db, name)
    return [
        (r[0], r[1])
        for r in db.execute(
            "SELECT customer_id, reason FROM campaign_members WHERE campaign_id = ? "
            "AND state = 'capped' ORDER BY position LIMIT ?",
            [c.id, limit],
        )
    ]


def phrase_for_follow_up(db: sqlite_utils.Database, follow_up_id: int) -> str | None:
    """The campaign's phrase for one of its follow-ups (None for any other follow-up)."""
    row = db.execute(
        "SELECT c.phrase_id FROM campaign_members m JOIN campaigns c ON c.id = m.campaign_id "
        "WHERE m.follow_up_id = ?",
        [follow_up_id],
    ).fetchone()
    return None if row is None else str(row[0])


def campaign_queue(
    db: sqlite_utils.Database, name: str, today: date, *, limit: int | None = None
) -> list[FollowUp]:
    """The campaign's open follow-ups due by ``today``, in the order the campaign works them."""
    c = _require(db, name)
    tail = (
        "JOIN campaign_members m ON m.follow_up_id = f.id "
        "WHERE m.campaign_id = ? AND f.status = 'pending' AND f.due_date <= ? "
        "ORDER BY f.due_date, m.position"
    )
    params: list[Any] = [c.id, today.isoformat()]
    if limit is not None:
        tail += " LIMIT ?"
        params.append(limit)
    return fu.follow_ups_where(db, tail, params)


# ---------------------------------------------------------------------------------------------
# Export


def export_members(
    db: sqlite_utils.Database, name: str, today: date, rules: RuleSet
) -> tuple[list[str], int]:
    """Contact members a bulk send may reach today: not opted out, not yet worked, campaign
    not ended, under the frequency cap. Returns their ids (work order) and how many the cap
    held back."""
    c = _require(db, name)
    if c.status == "ended":
        raise cc.CampaignError(f"campaign {name!r} has ended")
    ids = [
        r[0]
        for r in db.execute(
            "SELECT m.customer_id FROM campaign_members m "
            "JOIN customers c ON c.customer_id = m.customer_id "
            "LEFT JOIN follow_ups f ON f.id = m.follow_up_id "
            "WHERE m.campaign_id = ? AND m.grp = 'contact' AND c.opt_out = 0 "
            "AND m.state IN ('waiting', 'capped', 'scheduled') "
            "AND coalesce(f.status, 'pending') IN ('pending', 'snoozed') "
            "ORDER BY m.position",
            [c.id],
        )
    ]
    c24, c7, _busy = _cap_facts(db, ids, today)
    cands = [cc.Candidate(cid, False, c24.get(cid, 0), c7.get(cid, 0)) for cid in ids]
    pick = cc.pick_day(cands, len(cands), rules.cap)
    return list(pick.schedule), len(pick.capped)


def log_bulk(
    db: sqlite_utils.Database,
    name: str,
    sent: Sequence[tuple[str, str]],
    agent: str,
    today: date,
    *,
    now: datetime | None = None,
) -> int:
    """Record exported messages as sent: one ``bulk`` touch per (customer, text), each on the
    member's follow-up (made now if the member had none), which is closed as done. One
    transaction. Returns the touches written."""
    stamp = to_db(now or datetime.now())
    assert stamp is not None
    with write_tx(db):
        c = _require(db, name)
        for customer_id, text in sent:
            row = db.execute(
                "SELECT m.follow_up_id, f.status FROM campaign_members m "
                "LEFT JOIN follow_ups f ON f.id = m.follow_up_id "
                "WHERE m.campaign_id = ? AND m.customer_id = ?",
                [c.id, customer_id],
            ).fetchone()
            if row is None:
                raise cc.CampaignError(f"{customer_id!r} is not a member of {name!r}")
            fid, status = row
            if fid is None or status not in ("pending", "snoozed"):
                fid = _new_follow_up(db, c, customer_id, today.isoformat(), "pending", stamp)
            db.execute(
                "INSERT INTO touches (agent, customer_id, follow_up_id, phrase_id, stage, text, "
                "channel, at) VALUES (?,?,?,?, 'campaign', ?, 'bulk', ?)",
                [agent, customer_id, fid, c.phrase_id, text, stamp],
            )
            db.execute(
                "UPDATE follow_ups SET status = 'done', status_reason = 'sent in bulk', "
                "claimed_by = NULL, updated_at = ? WHERE id = ?",
                [stamp, fid],
            )
    return len(sent)


# ---------------------------------------------------------------------------------------------
# Report


_CONTACTED_SQL = """
SELECT count(*), total(n > 0), total(revenue) FROM (
    SELECT t.customer_id,
        (SELECT count(*) FROM orders o WHERE o.customer_id = t.customer_id
            AND o.ordered_at > t.first_at AND o.ordered_at < datetime(t.first_at, ?)) AS n,
        (SELECT total(amount) FROM orders o WHERE o.customer_id = t.customer_id
            AND o.ordered_at > t.first_at AND o.ordered_at < datetime(t.first_at, ?)) AS revenue
    FROM (
        SELECT m.customer_id, min(tt.at) AS first_at FROM campaign_members m
        JOIN touches tt ON tt.follow_up_id = m.follow_up_id AND tt.customer_id = m.customer_id
        WHERE m.campaign_id = ? AND m.grp = 'contact'
        GROUP BY m.customer_id
    ) t
)
"""

_HOLDOUT_SQL = """
SELECT count(*), total(n > 0), total(revenue) FROM (
    SELECT m.customer_id,
        (SELECT count(*) FROM orders o WHERE o.customer_id = m.customer_id
            AND o.ordered_at >= ? AND o.ordered_at < ?) AS n,
        (SELECT total(amount) FROM orders o WHERE o.customer_id = m.customer_id
            AND o.ordered_at >= ? AND o.ordered_at < ?) AS revenue
    FROM campaign_members m JOIN customers c ON c.customer_id = m.customer_id
    WHERE m.campaign_id = ? AND m.grp = 'holdout' AND c.opt_out = 0
)
"""


def report(
    db: sqlite_utils.Database, name: str, window_days: int = DEFAULT_WINDOW_DAYS
) -> cc.Report:
    """Contacted members (their first campaign touch) against the holdout (not opted out).

    A contacted member converted when they ordered within ``window_days`` after the touch;
    a holdout member when they ordered within ``window_days`` after the campaign's start.
    """
    c = _require(db, name)
    shift = f"+{window_days} days"
    n, conv, rev = db.execute(_CONTACTED_SQL, [shift, shift, c.id]).fetchone()
    lo = f"{c.start.isoformat()} 00:00:00"
    hi = f"{(c.start + timedelta(days=window_days)).isoformat()} 00:00:00"
    hn, hconv, hrev = db.execute(_HOLDOUT_SQL, [lo, hi, lo, hi, c.id]).fetchone()
    return cc.Report(
        name=c.name,
        window_days=window_days,
        contacted=cc.GroupOutcome(int(n), int(conv), float(rev)),
        holdout=cc.GroupOutcome(int(hn), int(hconv), float(hrev)),
    )


@dataclass(frozen=True, slots=True)
class Summary:
    """One running campaign for the stats screen."""

    name: str
    status: str
    start: date
    counts: dict[str, int]
    report: cc.Report


def campaign_summaries(
    db: sqlite_utils.Database, today: date, window_days: int = DEFAULT_WINDOW_DAYS
) -> list[Summary]:
    """Campaigns not ended (and started by ``today``): progress and the report so far."""
    out = []
    for c in list_campaigns(db):
        if c.status == "ended" or c.start > today:
            continue
        out.append(
            Summary(
                c.name,
                c.status,
                c.start,
                member_counts(db, c.name),
                report(db, c.name, window_days),
            )
        )
    return out
