"""The web server of ``tui-agent serve``: login, sessions, one console process per tab.

Each browser tab that opens the console gets its own console process on this host (through
textual-serve's :class:`AppService`), so SQLite's locking works as it does for agents over
SSH. The console's command line is built here from the logged-in agent: nothing the browser
sends reaches it except key presses and the terminal size.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import shlex
import ssl
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import textual_serve
from aiohttp import WSMsgType, web

from tui_agent.core.ratelimit import LoginLimiter
from tui_agent.serve import pages
from tui_agent.serve.sessions import COOKIE, SessionStore, WebSession

log = logging.getLogger("tui_agent.serve")
ASSETS = Path(__file__).parent / "static"
STOP_GRACE = 10.0  # seconds a console gets to quit (give back its claim) before it is killed
TAKEOVER_WAIT = 5.0  # seconds a new tab waits for the agent's closing console to end
REFUSED_TAB = 4409  # websocket close code: this agent's console is open elsewhere
ALREADY_OPEN = "already open in another tab: one console per agent"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class ServeConfig:
    """What the server needs; built by ``cli/serve.py``."""

    db_path: Path
    shop: str
    logins: bool  # False: loopback only, the local agent without a login page
    local_agent: str
    today: date | None = None
    python: str = sys.executable


@dataclass(eq=False)
class LiveConsole:
    """One browser tab's console: its websocket and its process."""

    session: WebSession
    websocket: web.WebSocketResponse
    service: Any  # textual_serve.app_service.AppService
    stopping: asyncio.Future[None] | None = None

    @property
    def pid(self) -> int | None:
        proc = self.service._process
        return None if proc is None else int(proc.pid)


Authenticate = Callable[[str, str], "tuple[str, str | None] | None"]
IsEnabled = Callable[[str], bool]
Release = Callable[[str], object]


class ConsoleServer:
    """The aiohttp application with its routes and the state of sessions and consoles."""

    def __init__(
        self,
        config: ServeConfig,
        *,
        authenticate: Authenticate,
        is_enabled: IsEnabled,
        release: Release = lambda _agent: None,
        limiter: LoginLimiter | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.authenticate = authenticate
        self.is_enabled = is_enabled
        self.release = release
        self.limiter = limiter or LoginLimiter()
        self.clock = clock
        self.sessions = SessionStore()
        self.live: dict[str, LiveConsole] = {}  # agent name -> the one open console

    # -- the application -------------------------------------------------------------------

    def make_app(self) -> web.Application:
        static = Path(textual_serve.__file__).parent / "static"
        app = web.Application(middlewares=[self._headers], client_max_size=64 * 1024)
        app.add_routes(
            [
                web.get("/", self.index),
                web.get("/login", self.login_form),
                web.post("/login", self.login),
                web.post("/logout", self.logout),
                web.get("/ws", self.websocket),
                web.static("/static", static, show_index=False),
                web.static("/assets", ASSETS, show_index=False),
            ]
        )
        app.on_startup.append(self._start_sweeper)
        app.on_shutdown.append(self._shutdown)
        return app

    @web.middleware
    async def _headers(self, request: web.Request, handler: Any) -> web.StreamResponse:
        response: web.StreamResponse = await handler(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.path in ("/", "/login", "/logout"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    # -- helpers ---------------------------------------------------------------------------

    def _secure(self, request: web.Request) -> bool:
        """HTTPS here, or HTTPS at a reverse proxy on this host that says so."""
        if request.secure:
            return True
        peer = request.remote or ""
        return is_loopback(peer) and request.headers.get("X-Forwarded-Proto") == "https"

    def _client(self, request: web.Request) -> str:
        """The client's address; behind a proxy on this host, the address it forwards."""
        peer = request.remote or "?"
        forwarded = request.headers.get("X-Forwarded-For")
        if forwarded and is_loopback(peer):
            return forwarded.split(",")[-1].strip()[:64]
        return peer

    def _session(self, request: web.Request) -> WebSession | None:
        return self.sessions.get(request.cookies.get(COOKIE))

    def _same_origin(self, request: web.Request) -> bool:
        """A POST or websocket from a page of this server (browsers send Origin on both)."""
        origin = request.headers.get("Origin")
        if origin is None:
            return request.method == "GET" and request.headers.get("Upgrade") is None
        host = (
            request.headers.get("X-Forwarded-Host") if is_loopback(request.remote or "") else None
        )
        host = host or request.host
        return origin in (f"http://{host}", f"https://{host}")

    def _html(self, text: str, status: int = 200) -> web.Response:
        return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")

    def _set_cookie(self, response: web.StreamResponse, request: web.Request, token: str) -> None:
        response.set_cookie(
            COOKIE,
            token,
            max_age=int(self.sessions.lifetime),
            path="/",
            httponly=True,
            samesite="Strict",
            secure=self._secure(request),
        )

    def console_command(self, session: WebSession) -> str:
        """The console's command line: built here, from the logged-in agent only."""
        argv = [
            self.config.python,
            "-m",
            "tui_agent",
            "console",
            "--db",
            str(self.config.db_path),
            "--agent",
            session.agent,
        ]
        if session.display_name:
            argv += ["--display-name", session.display_name]
        if self.config.today is not None:
            argv += ["--today", self.config.today.isoformat()]
        return "exec " + shlex.join(argv)

    # -- pages -----------------------------------------------------------------------------

    async def index(self, request: web.Request) -> web.StreamResponse:
        session = self._session(request)
        if session is None and not self.config.logins:
            token, session = self.sessions.create(self.config.local_agent, None)
            response = self._html(self._console_html(session))
            self._set_cookie(response, request, token)
            return response
        if session is None:
            raise web.HTTPSeeOther("/login")
        return self._html(self._console_html(session))

    def _console_html(self, session: WebSession) -> str:
        return pages.console_page(self.config.shop, session.agent, session.shown_name)

    async def login_form(self, request: web.Request) -> web.StreamResponse:
        if not self.config.logins or self._session(request) is not None:
            raise web.HTTPSeeOther("/")
        return self._html(pages.login_page(self.config.shop))

    async def login(self, request: web.Request) -> web.StreamResponse:
        if not self.config.logins:
            raise web.HTTPSeeOther("/")
        if not self._same_origin(request):
            raise web.HTTPForbidden(text="cross-site login refused")
        form = await request.post()
        name = str(form.get("name", "")).strip().lower()[:32]
        password = str(form.get("password", ""))[:200]
        keys = [f"addr:{self._client(request)}", f"name:{name}"]
        wait = self.limiter.wait(keys, self.clock())
        if wait > 0:
            message = f"太多次失败 Too many failed logins: try again in {int(wait) + 1} s."
            return self._html(pages.login_page(self.config.shop, error=message, name=name), 429)
        found = await asyncio.to_thread(self.authenticate, name, password)
        if found is None:
            self.limiter.failed(keys, self.clock())
            log.warning("failed login for %r from %s", name, self._client(request))
            message = "登录名或密码不对 Wrong login name or password."
            return self._html(pages.login_page(self.config.shop, error=message, name=name), 401)
        self.limiter.succeeded(f"name:{name}")
        agent, display_name = found
        old = self.sessions.drop(request.cookies.get(COOKIE))
        if old is not None:
            await self._end(old)
        token, _session = self.sessions.create(agent, display_name)
        response = web.HTTPSeeOther("/")
        self._set_cookie(response, request, token)
        log.info("%s logged in from %s", agent, self._client(request))
        return response

    async def logout(self, request: web.Request) -> web.StreamResponse:
        if not self._same_origin(request):
            raise web.HTTPForbidden(text="cross-site logout refused")
        session = self.sessions.drop(request.cookies.get(COOKIE))
        if session is not None:
            await self._end(session)
            log.info("%s logged out", session.agent)
        response = web.HTTPSeeOther("/login" if self.config.logins else "/")
        response.del_cookie(COOKIE, path="/")
        return response

    # -- consoles --------------------------------------------------------------------------

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        session = self._session(request)
        if session is None:
            raise web.HTTPForbidden(text="log in first")
        if not self._same_origin(request):
            raise web.HTTPForbidden(text="cross-site websocket refused")
        if self.config.logins and not await asyncio.to_thread(self.is_enabled, session.agent):
            raise web.HTTPForbidden(text="this login is disabled")
        ws = web.WebSocketResponse(heartbeat=15, max_msg_size=64 * 1024)
        # A reloaded page connects again while its old console is still closing: give that
        # one a moment. A second tab of the same agent is refused (one console, one claim).
        for _ in range(int(TAKEOVER_WAIT * 10)):
            if session.agent not in self.live:
                break
            await asyncio.sleep(0.1)
        if session.agent in self.live:
            await ws.prepare(request)
            await ws.close(code=REFUSED_TAB, message=ALREADY_OPEN.encode())
            log.info("second console of %s refused", session.agent)
            return ws
        from textual_serve.app_service import AppService
        from textual_serve.download_manager import DownloadManager

        async def close() -> None:
            await ws.close()

        service = AppService(
            self.console_command(session),
            write_bytes=ws.send_bytes,
            write_str=ws.send_str,
            close=close,
            download_manager=DownloadManager(),
        )
        live = LiveConsole(session, ws, service)
        self.live[session.agent] = live  # no await since the check above: no other tab slips in
        session.consoles.add(live)
        try:
            await ws.prepare(request)
            width = _size(request.query.get("width"), 80)
            height = _size(request.query.get("height"), 24)
            await service.start(width, height)
            log.info("console of %s started (pid %s)", session.agent, live.pid)
            await self._pump(ws, service)
        finally:
            await self._stop(live)
        return ws

    async def _pump(self, ws: web.WebSocketResponse, service: Any) -> None:
        """Key presses, size and focus from the browser to the console; nothing else."""
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                envelope = json.loads(message.data)
                kind = envelope[0]
            except (ValueError, TypeError, IndexError, KeyError):
                continue
            if kind == "stdin" and isinstance(envelope[1], str):
                await service.send_bytes(envelope[1].encode("utf-8", "replace"))
            elif kind == "resize" and isinstance(envelope[1], dict):
                size = envelope[1]
                await service.set_terminal_size(
                    _size(size.get("width"), 80), _size(size.get("height"), 24)
                )
            elif kind == "ping":
                await ws.send_json(["pong", str(envelope[1])[:32]])
            elif kind == "blur":
                await service.blur()
            elif kind == "focus":
                await service.focus()

    async def _stop(self, live: LiveConsole) -> None:
        """End a console once, however many ask (logout and its websocket's end both do)."""
        if live.stopping is None:
            live.stopping = asyncio.ensure_future(self._stop_once(live))
        await asyncio.shield(live.stopping)

    async def _stop_once(self, live: LiveConsole) -> None:
        """Ask the console to quit, kill it if it will not, give back the agent's claim."""
        if self.live.get(live.session.agent) is live:
            del self.live[live.session.agent]
        live.session.consoles.discard(live)
        proc = live.service._process
        with contextlib.suppress(Exception):
            await asyncio.wait_for(live.service.stop(), STOP_GRACE)
        if proc is not None:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(proc.wait(), STOP_GRACE)
        if not live.websocket.closed:
            with contextlib.suppress(Exception):
                await live.websocket.close()
        if live.session.agent not in self.live:  # not already reopened (a reload)
            try:
                await asyncio.to_thread(self.release, live.session.agent)
            except Exception as exc:  # the claim expires by itself
                log.warning("could not give back the claims of %s: %s", live.session.agent, exc)
        log.info("console of %s ended", live.session.agent)

    async def _end(self, session: WebSession) -> None:
        """End a session's consoles (logout, expiry, a new login in the same browser)."""
        await asyncio.gather(*(self._stop(live) for live in list(session.consoles)))

    async def _start_sweeper(self, app: web.Application) -> None:
        async def sweep() -> None:
            while True:
                await asyncio.sleep(60)
                for session in self.sessions.expired():
                    await self._end(session)

        task = asyncio.create_task(sweep())
        app["sweeper"] = task

    async def _shutdown(self, app: web.Application) -> None:
        app["sweeper"].cancel()
        await asyncio.gather(*(self._stop(live) for live in list(self.live.values())))


def _size(value: object, default: int) -> int:
    try:
        return max(10, min(500, int(str(value))))
    except ValueError:
        return default


def ssl_context(certfile: Path, keyfile: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certfile, keyfile)
    return context


async def run(
    server: ConsoleServer,
    host: str,
    port: int,
    *,
    ssl_ctx: ssl.SSLContext | None = None,
    ready: Callable[[str], None] | None = None,
) -> None:
    """Serve until cancelled (Ctrl+C / SIGTERM); ``ready`` gets the address once listening."""
    runner = web.AppRunner(server.make_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=ssl_ctx)
    await site.start()
    try:
        addresses = runner.addresses
        bound = int(addresses[0][1]) if addresses else port
        scheme = "https" if ssl_ctx else "http"
        shown = f"[{host}]" if ":" in host else host
        if ready is not None:
            ready(f"{scheme}://{shown}:{bound}/")
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
