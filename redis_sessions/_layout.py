"""Redis key layout and the fields of a session record.

One session is one string key, ``<prefix>{<tag>}<rest>``, holding its record (`redis_sessions._record`:
metadata and data maps): the hash tag is the id's slot tag, so a session and the key it is
regenerated to share a Cluster hash slot. Metadata names are single letters (times are epoch
milliseconds). The last access is not stored: it is when the expiry was last slid,
``expires - ttl``. The per-user index is a sorted set ``<prefix>user:<user_id>`` of session ids,
scored by the time before which the member cannot have expired.
"""

from __future__ import annotations

import hashlib

from ._ids import TAG_LENGTH

# Metadata names in a record.
CREATED = "c"
USER = "u"
TTL = "t"  # the session's own idle timeout (ms), only when it differs from the config's
DEADLINE = "x"  # absolute deadline (epoch ms), only with absolute_ttl
INDEXED = "i"  # when the user index entry was last pushed forward (epoch ms)

# A change sent to save.lua names its field: META + a metadata name, or DATA + a session key.
META = "#"
DATA = "."

_GLOB_SPECIAL = str.maketrans({c: "\\" + c for c in "*?[]\\"})


class KeyLayout:
    """Maps session ids and user ids to Redis keys under one `key_prefix`."""

    __slots__ = ("prefix", "scan_pattern")

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.scan_pattern = prefix.translate(_GLOB_SPECIAL) + "{*"

    def session_key(self, session_id: str) -> str:
        return f"{self.prefix}{{{session_id[:TAG_LENGTH]}}}{session_id[TAG_LENGTH:]}"

    def session_id(self, key: bytes | str) -> str | None:
        """Inverse of `session_key`; None for keys that are not session keys of this prefix."""
        text = key.decode() if isinstance(key, bytes) else key
        rest = text[len(self.prefix) :]
        if (
            not text.startswith(self.prefix)
            or rest[:1] != "{"
            or rest[TAG_LENGTH + 1 : TAG_LENGTH + 2] != "}"
        ):
            return None
        return rest[1 : TAG_LENGTH + 1] + rest[TAG_LENGTH + 2 :]

    def user_key(self, user_id: str) -> str:
        return f"{self.prefix}user:{user_id}"

    @property
    def user_pattern(self) -> str:
        """SCAN pattern of every user index key under this prefix."""
        return self.prefix.translate(_GLOB_SPECIAL) + "user:*"

    def user_id(self, key: bytes | str) -> str:
        """Inverse of `user_key` (for keys `user_pattern` matched)."""
        text = key.decode() if isinstance(key, bytes) else key
        return text[len(self.prefix) + len("user:") :]

    def migrated_key(self, legacy_key: str) -> str:
        """Where the id of the session a legacy key (another engine's) was moved to is kept: under
        a hash of that key, which stays a secret."""
        return f"{self.prefix}migrated:{hashlib.sha256(legacy_key.encode()).hexdigest()[:40]}"

    @property
    def migrated_pattern(self) -> str:
        return self.prefix.translate(_GLOB_SPECIAL) + "migrated:*"
