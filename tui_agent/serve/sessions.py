"""Browser sessions of the served console: cookie tokens, expiry, one console per agent."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

COOKIE = "tui_agent_session"
LIFETIME = 12 * 3600.0  # a working day; then the agent logs in again


@dataclass(eq=False)
class WebSession:
    """One login in one browser. ``consoles`` are its live console connections."""

    agent: str
    display_name: str | None
    expires: float
    consoles: set[Any] = field(default_factory=set)

    @property
    def shown_name(self) -> str:
        return self.display_name or self.agent


def _key(token: str) -> str:
    # Only a hash of each token is kept in memory.
    return hashlib.sha256(token.encode()).hexdigest()


class SessionStore:
    """Sessions by cookie token (kept in memory: a server restart logs everyone out)."""

    def __init__(self, lifetime: float = LIFETIME) -> None:
        self.lifetime = lifetime
        self._sessions: dict[str, WebSession] = {}

    def create(self, agent: str, display_name: str | None) -> tuple[str, WebSession]:
        token = secrets.token_urlsafe(32)
        session = WebSession(agent, display_name, time.time() + self.lifetime)
        self._sessions[_key(token)] = session
        return token, session

    def get(self, token: str | None) -> WebSession | None:
        if not token or len(token) > 100:
            return None
        session = self._sessions.get(_key(token))
        if session is None:
            return None
        if session.expires <= time.time():
            del self._sessions[_key(token)]
            return None
        return session

    def drop(self, token: str | None) -> WebSession | None:
        return self._sessions.pop(_key(token), None) if token else None

    def expired(self) -> list[WebSession]:
        """Remove and return the sessions whose time is up."""
        now = time.time()
        gone = [k for k, s in self._sessions.items() if s.expires <= now]
        return [self._sessions.pop(k) for k in gone]

    def all(self) -> list[WebSession]:
        return list(self._sessions.values())
