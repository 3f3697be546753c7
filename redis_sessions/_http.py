"""The request policy every integration follows, framework-neutral and free of I/O.

Before the handler: a valid signed cookie means "load (and slide) that session"; anything else means
a new, unsaved session. After the handler, `decide` says what to do with the store and
`cookie_after` what cookie to send, so the HTTP behaviour is the same in ASGI, Django and Flask.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

from .config import SessionConfig
from .errors import BackendUnavailable
from .session import Session
from .signing import SessionIdSigner

logger = logging.getLogger("redis_sessions")


class Action(enum.Enum):
    NOTHING = "nothing"  # read-only: the load already slid the TTL
    SAVE = "save"  # create, update or regenerate
    DELETE = "delete"  # emptied or cleared: delete it and expire the cookie


def decide(session: Session) -> Action:
    """What a finished request does with its session."""
    if session._is_new:
        if session._clear_requested or (not session._data and session.user_id is None):
            return Action.NOTHING  # nothing worth storing: no write, no cookie
        return Action.SAVE
    if session._clear_requested or (not session._data and session.user_id is None and session.modified):
        return Action.DELETE
    if session.modified or session._regenerate_requested:
        return Action.SAVE
    return Action.NOTHING


@dataclass(frozen=True, slots=True)
class CookieSpec:
    """A cookie to send: `value` with `max_age` seconds, or an expiry (value "", max_age 0)."""

    value: str
    max_age: int

    @property
    def expires_now(self) -> bool:
        return self.max_age == 0


EXPIRE = CookieSpec("", 0)


def cookie_after(
    session: Session, action: Action, stored: bool, signer: SessionIdSigner, now_ms: int
) -> CookieSpec | None:
    """The cookie for the response, given the action taken and whether the store kept the session.

    A live stored session gets its (refreshed) cookie, whose Max-Age is what is left of the session:
    never more than `ttl`, never past the absolute deadline. A session deleted here or found gone
    gets its cookie expired; a new session that stored nothing gets no cookie.
    """
    if session._is_new:
        return None  # never stored (a save clears is_new)
    if action is Action.DELETE or not stored:
        return EXPIRE
    max_age = (session._expires_ms - now_ms) // 1000
    if max_age <= 0:
        return EXPIRE
    return CookieSpec(signer.sign(session.id), max_age)


def set_cookie_header(config: SessionConfig, spec: CookieSpec) -> str:
    """Render `spec` as a ``Set-Cookie`` header value with the configured attributes."""
    parts = [f"{config.cookie_name}={spec.value}", f"Path={config.cookie_path}"]
    if spec.expires_now:
        parts.append("Expires=Thu, 01 Jan 1970 00:00:00 GMT")
    parts.append(f"Max-Age={spec.max_age}")
    if config.cookie_domain:
        parts.append(f"Domain={config.cookie_domain}")
    if config.cookie_secure:
        parts.append("Secure")
    if config.cookie_httponly:
        parts.append("HttpOnly")
    parts.append(f"SameSite={config.cookie_samesite.capitalize()}")
    return "; ".join(parts)


class OutageLog:
    """Logs one line when the store becomes unreachable and one when it is back (not per request)."""

    def __init__(self) -> None:
        self.down = False

    def failed(self, exc: BackendUnavailable) -> None:
        if not self.down:
            self.down = True
            logger.error("session store unavailable, answering 503 until it is back: %s", exc)

    def succeeded(self) -> None:
        if self.down:
            self.down = False
            logger.warning("session store reachable again")


def request_regenerate(session: Session) -> None:
    """Ask for a fresh id when the request ends (login: session fixation defence)."""
    session._regenerate_requested = True


def request_clear(session: Session) -> None:
    """Empty the session and delete it from the store when the request ends (logout)."""
    session.clear()
    session._clear_requested = True
