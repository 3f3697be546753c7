"""Session ids: 128 random bits from `secrets`, behind a 4-character slot tag kept across regenerations.

The tag puts a session's key, and the key it is regenerated to, in one Redis Cluster hash slot, so a
rotation is one atomic script. The tag carries no secret: the 22 characters after it (128 bits) do.
"""

from __future__ import annotations

import re
import secrets

TAG_LENGTH = 4
ID_LENGTH = TAG_LENGTH + 22
_ID = re.compile(rf"[A-Za-z0-9_-]{{{ID_LENGTH}}}")


def new_session_id(tag: str | None = None) -> str:
    """Return a fresh id: `tag` (or a new random one) followed by 128 random bits, url-safe base64."""
    if tag is None:
        tag = secrets.token_urlsafe(3)  # 4 characters, 24 bits: spreads over all 16384 slots
    return tag + secrets.token_urlsafe(16)


def slot_tag(session_id: str) -> str:
    return session_id[:TAG_LENGTH]


def is_valid_id(value: str) -> bool:
    """True when `value` has the exact shape of an id made by `new_session_id`."""
    return _ID.fullmatch(value) is not None
