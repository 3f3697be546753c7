"""How other session libraries keep their sessions in Redis, read-only, to move them to ours
(``migrate_from``): where a cookie value points, and how to read what is stored there.

- ``"flask-session"``: Flask-Session's Redis backend. The cookie holds the session id (with
  ``SESSION_USE_SIGNER``, signed by itsdangerous with the app's ``SECRET_KEY``, salt
  ``flask-session``); the key is ``<prefix><id>`` (prefix ``session:``); the value is msgpack
  (0.7+, the default), JSON (``SESSION_SERIALIZATION_FORMAT="json"``), or pickle (before 0.7), which
  is read only with ``migrate_pickle=True``.
- ``"starsessions"``: starsessions' `RedisStore`. The cookie holds the id (32 hex characters,
  unsigned); the key is ``<prefix><id>`` (prefix ``starsessions.``); the value is JSON with its own
  ``__metadata__``, which is dropped.
"""

from __future__ import annotations

import json
import logging
import pickle
import re
from typing import Any

import msgpack
from itsdangerous import BadSignature, Signer

from .config import SessionConfig

logger = logging.getLogger("redis_sessions")

DEFAULT_PREFIXES = {"flask-session": "session:", "starsessions": "starsessions."}
_FLASK_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{16,128}")  # secrets.token_urlsafe(SESSION_ID_LENGTH)
_STARSESSIONS_ID = re.compile(r"[0-9a-f]{32}")  # secrets.token_hex(16)
_MAX_COOKIE = 4096


class LegacyFormat:
    """The store `config.migrate_from` names: cookie values to keys, stored values to data."""

    def __init__(self, config: SessionConfig) -> None:
        assert config.migrate_from is not None
        self.library = config.migrate_from
        self.prefix = (
            config.migrate_from_prefix
            if config.migrate_from_prefix is not None
            else DEFAULT_PREFIXES[self.library]
        )
        self.cookie_name = config.migrate_from_cookie or config.cookie_name
        self.pickle = config.migrate_pickle
        self._signers = [Signer(k, salt="flask-session", key_derivation="hmac") for k in config.secret_keys]

    def key_of(self, cookie_value: str) -> str | None:
        """The Redis key an old cookie value names; None when it cannot be one of that library's."""
        if not cookie_value or len(cookie_value) > _MAX_COOKIE:
            return None
        if self.library == "starsessions":
            return self.prefix + cookie_value if _STARSESSIONS_ID.fullmatch(cookie_value) else None
        session_id = cookie_value
        if "." in cookie_value:  # SESSION_USE_SIGNER: "<id>.<signature>"
            session_id = ""
            for signer in self._signers:
                try:
                    session_id = signer.unsign(cookie_value).decode()
                    break
                except BadSignature:
                    continue
        return self.prefix + session_id if _FLASK_SESSION_ID.fullmatch(session_id) else None

    def is_key(self, key: str) -> bool:
        """Whether `key` (found by a SCAN of `prefix` *) is one of that library's session keys
        (not one of ours when the prefixes overlap: ours have braces and colons)."""
        session_id = key[len(self.prefix) :] if key.startswith(self.prefix) else ""
        pattern = _STARSESSIONS_ID if self.library == "starsessions" else _FLASK_SESSION_ID
        return pattern.fullmatch(session_id) is not None

    def decode(self, raw: bytes) -> dict[str, Any] | None:
        """The session data of a stored value; None when it is not a session this format reads."""
        data: Any = None
        if self.library == "starsessions":
            data = _json(raw)
            if isinstance(data, dict):
                data.pop("__metadata__", None)
        else:
            data = _msgpack(raw)
            if data is None:
                data = _json(raw)
            if data is None and self.pickle and raw[:1] == b"\x80":
                data = _pickle(raw)
        return data if isinstance(data, dict) and all(isinstance(k, str) for k in data) else None


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _msgpack(raw: bytes) -> Any:
    try:
        data = msgpack.unpackb(raw, raw=False, strict_map_key=False)
    except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError, TypeError):
        return None
    return data if isinstance(data, dict) else None


def _pickle(raw: bytes) -> Any:
    # Opted into with migrate_pickle=True: pickle runs code chosen by whoever could write this key.
    try:
        return pickle.loads(raw)
    except Exception:  # any unpickling failure is "not a session"
        return None
