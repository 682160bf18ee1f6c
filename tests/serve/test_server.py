"""The served console's HTTP side: refusals, rate limits, cookies, the console's command line."""

from __future__ import annotations

import http.client
import shlex
import sys
from datetime import date
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from click.testing import CliRunner

from tests.serve.served import PASSWORD, Served, start_server
from tui_agent.cli import main
from tui_agent.serve.server import ConsoleServer, ServeConfig, is_loopback
from tui_agent.serve.sessions import SessionStore
from tui_agent.store.agents import disable_agent
from tui_agent.store.db import connect


def _request(
    served: Served, method: str, path: str, *, body: dict[str, str] | None = None, **headers: str
) -> http.client.HTTPResponse:
    parts = urlsplit(served.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    hdrs = {
        "Origin": f"http://{parts.netloc}",
        **{k.replace("_", "-"): v for k, v in headers.items()},
    }
    data = None
    if body is not None:
        data = urlencode(body)
        hdrs["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, path, body=data, headers=hdrs)
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


def _login(served: Served, name: str, password: str, **headers: str) -> http.client.HTTPResponse:
    return _request(served, "POST", "/login", body={"name": name, "password": password}, **headers)


def _ws(served: Served, cookie: str) -> int:
    return _request(
        served,
        "GET",
        "/ws",
        Upgrade="websocket",
        Connection="Upgrade",
        Sec_WebSocket_Key="dGhlIHNhbXBsZSBub25jZQ==",
        Sec_WebSocket_Version="13",
        Cookie=f"tui_agent_session={cookie}",
    ).status


def _cookie(response: http.client.HTTPResponse) -> tuple[str, str]:
    header = response.getheader("Set-Cookie") or ""
    return header.split(";", 1)[0].split("=", 1)[1], header


def test_refuses_a_network_address_without_logins(tmp_path: Path) -> None:
    shop = tmp_path / "shop.db"
    connect(shop).conn.close()
    result = CliRunner().invoke(main, ["--db", str(shop), "serve", "--host", "0.0.0.0"])
    assert result.exit_code == 1
    assert "refusing to listen on 0.0.0.0" in result.output and "agents add" in result.output
    result = CliRunner().invoke(main, ["--db", str(shop), "serve", "--certfile", str(shop)])
    assert result.exit_code == 2  # --certfile without --keyfile


def test_loopback_without_logins_opens_for_the_local_agent(tmp_path: Path) -> None:
    shop = tmp_path / "shop.db"
    connect(shop).conn.close()
    served = start_server(shop)
    try:
        page = _request(served, "GET", "/")
        assert page.status == 200  # no login page: loopback, no logins configured
        _token, header = _cookie(page)
        assert "HttpOnly" in header and "SameSite=Strict" in header
        assert _request(served, "GET", "/login").status == 303
    finally:
        served.stop()


def test_rate_limit_cookies_origin_and_disabled_agents(served: Served) -> None:
    # Cross-site form posts are refused before any password is looked at.
    assert _login(served, "lily", PASSWORD, Origin="http://evil.example").status == 403
    # A good login over plain HTTP: HttpOnly, SameSite, expiring, not Secure.
    ok = _login(served, "ben", PASSWORD)
    assert ok.status == 303
    ben, header = _cookie(ok)
    assert "HttpOnly" in header and "SameSite=Strict" in header and "Max-Age=" in header
    assert "Secure" not in header
    # Behind an HTTPS proxy on this host, the cookie is Secure.
    proxied = _login(served, "ben", PASSWORD, X_Forwarded_Proto="https")
    assert "Secure" in _cookie(proxied)[1]
    # Five wrong passwords for lily lock the name and this address ...
    for _ in range(5):
        assert _login(served, "lily", "wrong password").status == 401
    assert _login(served, "lily", PASSWORD).status == 429  # even the right password waits
    assert _login(served, "amy", "wrong password").status == 429  # the address is locked too
    # ... while lily from another address (behind the proxy) is still locked by name.
    assert _login(served, "lily", PASSWORD, X_Forwarded_For="10.0.0.9").status == 429
    # A disabled agent's session opens no console.
    db = connect(served.db_path)
    disable_agent(db, "ben")
    db.conn.close()
    assert _ws(served, ben) == 403
    # Logging out twice, or with no session, is harmless.
    assert _request(served, "POST", "/logout").status == 303


def test_console_command_is_built_from_the_session_only() -> None:
    server = ConsoleServer(
        ServeConfig(
            db_path=Path("/srv/shop data/shop.db"),
            shop="s",
            logins=True,
            local_agent="me",
            today=date(2026, 11, 20),
        ),
        authenticate=lambda _n, _p: None,
        is_enabled=lambda _n: True,
    )
    _token, session = server.sessions.create("lily", "小满'; rm -rf / #")
    argv = shlex.split(server.console_command(session))
    assert argv == [
        "exec",
        sys.executable,
        "-m",
        "tui_agent",
        "console",
        "--db",
        "/srv/shop data/shop.db",
        "--agent",
        "lily",
        "--display-name",
        "小满'; rm -rf / #",
        "--today",
        "2026-11-20",
    ]


def test_sessions_expire_and_loopback_names() -> None:
    store = SessionStore(lifetime=-1)
    token, _session = store.create("lily", None)
    assert store.get(token) is None
    fresh = SessionStore()
    token, session = fresh.create("lily", None)
    assert fresh.get(token) is session and fresh.get("x" * 200) is None
    assert fresh.drop(token) is session and fresh.get(token) is None
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")


def test_display_name_fills_agent_name(tmp_path: Path) -> None:
    """`serve` passes the agent's display name with `console --display-name`."""
    from tests.ui.seed import TODAY, build_shop
    from tui_agent.config import Config
    from tui_agent.core.rules import load_rules
    from tui_agent.paths import rules_path
    from tui_agent.phrasing import load_phrasebook
    from tui_agent.session import Session

    shop = build_shop(tmp_path / "shop.db")
    session = Session(
        shop,
        agent="lily",
        display_name="小满",
        today=TODAY,
        rules=load_rules(rules_path()),
        config=Config(),
        phrases=load_phrasebook(),
    )
    try:
        first = session.queue().items[0]
        opened = session.open(first.id)
        assert opened is not None and opened.context["agent_name"] == "小满"
    finally:
        session.close()
    result = CliRunner().invoke(main, ["console", "--help"])
    assert "--display-name" in result.output
