"""Session ids: a 4-character slot tag kept across regenerations, an expiry marker, 128 random bits.

The tag puts a session's key, and the key it is regenerated to, in one Redis Cluster hash slot, so a
rotation is one atomic script. The character after the tag says how the session expires: a letter
for the configured sliding `ttl` alone (loaded with one plain GETEX), a digit, ``-`` or ``_`` for a
session with expiry rules of its own, an own ttl or an absolute deadline (loaded by load.lua, which
applies them). A stored session that gets rules of its own later moves to a marked id in the same
slot (`redis_sessions._plan.Core.set_expiry_rules`), so a plain id never has rules GETEX would miss.
Neither the tag nor the marker carries a secret: the 22 characters after them (128 bits) do.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets

TAG_LENGTH = 4
ID_LENGTH = TAG_LENGTH + 1 + 22
_ID = re.compile(rf"[A-Za-z0-9_-]{{{ID_LENGTH}}}")
HANDLE_LENGTH = TAG_LENGTH + 1 + 1 + 8
_HANDLE = re.compile(rf"[A-Za-z0-9_-]{{{TAG_LENGTH + 1}}}\.[A-Za-z0-9_-]{{8}}")

_OWN_EXPIRY = "0123456789-_"
_PLAIN = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def new_session_id(tag: str | None = None, *, own_expiry: bool = False) -> str:
    """Return a fresh id: `tag` (or a new random one, spread over all 16384 slots), the expiry
    marker (`own_expiry`: the session has an own ttl or an absolute deadline), then 128 random
    bits, url-safe base64."""
    if tag is None:
        tag = secrets.token_urlsafe(3)
    marker = secrets.choice(_OWN_EXPIRY if own_expiry else _PLAIN)
    return tag + marker + secrets.token_urlsafe(16)


def has_own_expiry(session_id: str) -> bool:
    """True for ids of sessions with an own ttl or an absolute deadline (see the module doc)."""
    return session_id[TAG_LENGTH] in _OWN_EXPIRY


def slot_tag(session_id: str) -> str:
    return session_id[:TAG_LENGTH]


def is_valid_id(value: str) -> bool:
    """True when `value` has the exact shape of an id made by `new_session_id`."""
    return _ID.fullmatch(value) is not None


def session_handle(session_id: str) -> str:
    """A name for the session that is not a bearer token, for logs, admin tools and events: its slot
    tag and expiry marker (no secret), a dot, then 48 bits of a SHA-256 of the id (e.g.
    ``"aB3xK.Qw8eRt1Z"``). Knowing it gives no way to the id; finding the session by it takes a
    walk of the sessions under that tag."""
    digest = base64.urlsafe_b64encode(hashlib.sha256(session_id.encode()).digest()[:6]).decode()
    return f"{session_id[: TAG_LENGTH + 1]}.{digest}"


def is_handle(value: str) -> bool:
    """True when `value` has the shape of a `session_handle`."""
    return _HANDLE.fullmatch(value) is not None
