"""The served console in a real headless browser: login, the queue, a touch, logout."""

from __future__ import annotations

import http.client
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import sync_playwright

from tests.serve.browser import Screen, launch
from tests.serve.served import PASSWORD, SHOP, TODAY, Served, alive, wait_until
from tui_agent.config import load_config
from tui_agent.core.rules import load_rules
from tui_agent.paths import rules_path
from tui_agent.phrasing import load_phrasebook
from tui_agent.session import Session
from tui_agent.store.db import connect

WAIT = 90_000  # ms: the CI machine is slow


def _rows(path: Path, sql: str, args: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    db = connect(path, create=False)
    try:
        return [tuple(r) for r in db.execute(sql, list(args)).fetchall()]
    finally:
        db.conn.close()


def _claimed(path: Path, agent: str) -> int | None:
    rows = _rows(
        path, "SELECT id FROM follow_ups WHERE claimed_by = ? AND status = 'pending'", (agent,)
    )
    return int(rows[0][0]) if len(rows) == 1 else None  # type: ignore[call-overload]


def _first_due(path: Path) -> int:
    """The follow-up at the top of the day's queue (the one the console previews first)."""
    from tui_agent.store.followups import due_queue

    db = connect(path, create=False)
    try:
        return due_queue(db, TODAY, limit=1)[0].id
    finally:
        db.conn.close()


def _expected_text(path: Path, follow_up_id: int) -> tuple[str, str]:
    """What the console previews for this follow-up with the phrase `bhtx` finds, filled for
    lily, whose display name is 小满 (the same facade the console uses)."""
    session = Session(
        path,
        agent="lily",
        display_name="小满",
        today=TODAY,
        rules=load_rules(rules_path()),
        config=load_config(),
        phrases=load_phrasebook(),
    )
    try:
        opened = session.preview(follow_up_id)  # read-only: claims nothing
        assert opened is not None
        language = opened.card.customer.language
        phrase = session.phrases.search("bhtx", language=language)[0].phrase
        filled = session.phrases.fill(phrase, opened.context, {}, language)
        assert not filled.missing
        return phrase.id, filled.text
    finally:
        session.close()


def _ws_status(url: str, cookie: str | None) -> int:
    """The HTTP status of a websocket handshake on /ws (101 = a console would start)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    headers = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "13",
        "Origin": f"http://{parts.netloc}",
    }
    if cookie:
        headers["Cookie"] = f"tui_agent_session={cookie}"
    conn.request("GET", "/ws", headers=headers)
    status = conn.getresponse().status
    conn.close()
    return status


def test_agent_logs_in_works_a_follow_up_and_logs_out(served: Served, tmp_path: Path) -> None:
    origin = served.url.rstrip("/")
    with sync_playwright() as p:
        browser = launch(p)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=origin)
        page = context.new_page()
        page.set_default_timeout(WAIT)
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        screen = Screen(page)

        # No session: the console page is not served, the login page is.
        page.goto(served.url)
        assert page.url == f"{origin}/login"
        assert SHOP in page.inner_text("h1")

        # A wrong password is refused and starts nothing.
        page.fill("input[name=name]", "lily")
        page.fill("input[name=password]", "not the password")
        with page.expect_response(f"{origin}/login") as refused:
            page.click("button[type=submit]")
        assert refused.value.status == 401
        assert "Wrong login name or password" in page.inner_text("main")
        page.screenshot(path=str(tmp_path / "login.png"))
        assert served.consoles() == []

        # The right one opens the console for lily, shown as 小满.
        page.fill("input[name=name]", "lily")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("body.-first-byte")
        assert SHOP in page.title() and "小满" in page.title()
        assert SHOP in page.inner_text("#bar") and "小满 (lily)" in page.inner_text("#bar")
        cookie = next(c for c in context.cookies() if c["name"] == "tui_agent_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert cookie["expires"] > 0  # expires, not a browser-lifetime cookie

        # The queue: the console shows the day with the first follow-up previewed (a claim is
        # taken when the agent works it: issue 9, claims on work, not on the cursor).
        wait_until(lambda: "今日 worked" in screen.text(), what="the queue on screen", page=page)
        fid = _first_due(served.db_path)
        phrase_id, expected = _expected_text(served.db_path, fid)
        page.screenshot(path=str(tmp_path / "queue.png"))

        # Search bhtx (pinyin initials of 补货提醒): the preview shows the filled phrase.
        before = len(screen.text())
        page.focus(".xterm-helper-textarea")
        screen.settle(page)
        page.keyboard.press("/")
        # Textual moves the focus after the key is handled: keys typed in between go to the
        # list. So type once the console is quiet again, and if the box still missed a key
        # (a slow machine), clear it and type again: the box then has the focus for sure.
        screen.settle(page)
        for _attempt in range(3):
            typed = len(screen.text())
            page.keyboard.type("bhtx", delay=80)
            try:
                wait_until(
                    lambda typed=typed: "bhtx" in screen.text()[typed:],
                    timeout=20,
                    what="bhtx in the search box",
                    page=page,
                )
                break
            except AssertionError:
                for _ in range(6):
                    page.keyboard.press("Backspace")
                screen.settle(page)
        wait_until(
            lambda: expected[:6] in screen.text()[before:], what="the filled preview", page=page
        )
        page.screenshot(path=str(tmp_path / "search.png"))
        page.keyboard.press("Enter")
        touches = wait_until(
            lambda: _rows(
                served.db_path,
                "SELECT agent, follow_up_id, phrase_id, text FROM touches WHERE agent = 'lily'",
            ),
            what="the touch",
            page=page,
        )
        assert touches == [("lily", fid, phrase_id, expected)]
        page.wait_for_selector("#clip.ok")
        assert page.evaluate("navigator.clipboard.readText()") == expected
        page.screenshot(path=str(tmp_path / "logged.png"))

        # A second tab of the same agent is refused (one console, one claim per agent).
        [console_pid] = served.consoles()
        second = context.new_page()
        second.set_default_timeout(WAIT)
        second.goto(served.url)
        second.wait_for_selector("body.-closed #closed")
        assert "already open in another tab" in second.inner_text("#closed-why")
        second.close()
        assert served.consoles() == [console_pid]

        # Reloading the page is not a second tab: the old console ends, a new one opens.
        page.reload()
        page.wait_for_selector("body.-first-byte")
        wait_until(lambda: not alive(console_pid), what="the old console to end", page=page)
        [console_pid] = wait_until(served.consoles, what="the new console", page=page)

        # Without a session cookie: no console page, no websocket, no new console process.
        stranger = browser.new_context().new_page()
        stranger.set_default_timeout(WAIT)
        stranger.goto(served.url)
        assert stranger.url == f"{origin}/login"
        outcome = stranger.evaluate(
            """() => new Promise(done => {
                const ws = new WebSocket(location.origin.replace('http', 'ws') + '/ws');
                ws.onopen = () => done('open');
                ws.onclose = () => done('refused');
            })"""
        )
        assert outcome == "refused"
        assert _ws_status(served.url, None) == 403
        assert _ws_status(served.url, "made-up-token") == 403
        assert served.consoles() == [console_pid]

        # Logout ends the session and its console process.
        page.click("#logout")
        page.wait_for_url(f"{origin}/login")
        wait_until(lambda: not alive(console_pid), what="the console process to end", page=page)
        assert served.consoles() == []
        assert _ws_status(served.url, cookie["value"]) == 403
        # ... and gives back lily's claim, so a colleague can take that customer now.
        wait_until(lambda: _claimed(served.db_path, "lily") is None, what="the claim", page=page)

        # Nothing was fetched from anywhere but this server.
        assert requests and all(u.startswith(origin + "/") for u in requests), requests
        browser.close()
