"""Failed-login limits per client address and per login name. Pure: the clock is passed in.

After ``free`` failures within ``window`` seconds a key is locked; each further failure doubles
the lock (``base`` seconds, at most ``cap``). A success clears the name's record, not the
address's: one agent logging in does not unlock an address that guessed at others.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class _Record:
    failures: list[float] = field(default_factory=list)
    locked_until: float = 0.0


@dataclass(slots=True)
class LoginLimiter:
    """Counts failed logins by key (``"addr:1.2.3.4"``, ``"name:lily"``)."""

    free: int = 5
    window: float = 900.0
    base: float = 30.0
    cap: float = 900.0
    _records: dict[str, _Record] = field(default_factory=dict)

    def wait(self, keys: list[str], now: float) -> float:
        """Seconds until any of ``keys`` may try again (0: go ahead)."""
        waits = [self._records[k].locked_until - now for k in keys if k in self._records]
        return max([0.0, *waits])

    def failed(self, keys: list[str], now: float) -> None:
        for key in keys:
            rec = self._records.setdefault(key, _Record())
            rec.failures = [t for t in rec.failures if now - t < self.window]
            rec.failures.append(now)
            extra = len(rec.failures) - self.free
            if extra >= 0:
                rec.locked_until = now + min(self.cap, self.base * 2**extra)
        self._forget(now)

    def succeeded(self, key: str) -> None:
        self._records.pop(key, None)

    def _forget(self, now: float) -> None:
        # Keep memory bounded under a spray of made-up names.
        if len(self._records) > 10_000:
            for key in [
                k
                for k, r in self._records.items()
                if r.locked_until < now and all(now - t >= self.window for t in r.failures)
            ]:
                del self._records[key]
