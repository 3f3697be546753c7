"""Session ids: 128 random bits from `secrets`, behind a 4-character slot tag kept across regenerations.

The tag puts a session's key, and the key it is regenerated to, in one Redis Cluster hash slot, so a
rotation is one atomic script. The tag carries no secret: the 22 characters after it (128 bits) do.
Its first character also says how the session expires: a letter for the configured sliding `ttl`
alone (loaded with one plain GETEX), a digit, ``-`` or ``_`` for a session with expiry rules of its
own, an own ttl or an absolute deadline (loaded by load.lua, which applies them).
"""

from __future__ import annotations

import re
import secrets

TAG_LENGTH = 4
ID_LENGTH = TAG_LENGTH + 22
_ID = re.compile(rf"[A-Za-z0-9_-]{{{ID_LENGTH}}}")


_OWN_EXPIRY = frozenset("0123456789-_")
_PLAIN = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def new_session_id(tag: str | None = None, *, own_expiry: bool = False) -> str:
    """Return a fresh id: `tag` (or a new random one, marked for `own_expiry`) followed by 128
    random bits, url-safe base64."""
    if tag is None:
        first = secrets.choice(sorted(_OWN_EXPIRY) if own_expiry else _PLAIN)
        tag = first + secrets.token_urlsafe(3)[:3]  # spreads over all 16384 slots
    return tag + secrets.token_urlsafe(16)


def has_own_expiry(session_id: str) -> bool:
    """True for ids of sessions with an own ttl or an absolute deadline (see the module doc)."""
    return session_id[0] in _OWN_EXPIRY


def slot_tag(session_id: str) -> str:
    return session_id[:TAG_LENGTH]


def is_valid_id(value: str) -> bool:
    """True when `value` has the exact shape of an id made by `new_session_id`."""
    return _ID.fullmatch(value) is not None
