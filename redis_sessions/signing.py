"""`SessionIdSigner`: the cookie value is the session id with an HMAC-SHA256 signature (itsdangerous)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from functools import lru_cache

from itsdangerous import Signer
from itsdangerous.encoding import base64_encode

from ._ids import is_valid_id

SALT = "redis_sessions.session-id"
_SEP = "."
_MAX_COOKIE = 128  # id (26) + separator + signature (43); anything longer is not ours


class SessionIdSigner:
    """Signs session ids for cookies and verifies them; the first key signs, every key verifies.

    The same keys give the same cookie in every integration (ASGI, Django, Flask), which is what lets
    one session move between frameworks.
    """

    __slots__ = ("_keys", "_sign_cached", "_signer", "_unsign_cached")

    def __init__(self, secret_keys: Sequence[str]) -> None:
        if isinstance(secret_keys, str) or not secret_keys:
            raise ValueError("secret_keys must be a non-empty list of strings")
        signers = [
            Signer(key, salt=SALT, sep=_SEP, key_derivation="hmac", digest_method=hashlib.sha256)
            for key in secret_keys
        ]
        self._signer = signers[0]
        # Derive each key once, not on every signature as Signer.sign does.
        self._keys = tuple(signer.derive_key() for signer in signers)
        # A cookie is signed on every request that refreshes it; the id rarely changes.
        self._sign_cached = lru_cache(maxsize=4096)(self._sign)
        # A browser sends the same cookie on every request: verify each value once. The keys never
        # change, so a cached answer stays right; a hit needs the exact string, signature included.
        self._unsign_cached = lru_cache(maxsize=4096)(self._unsign)

    def _signature(self, key: bytes, session_id: str) -> bytes:
        return base64_encode(self._signer.algorithm.get_signature(key, session_id.encode("ascii")))

    def _sign(self, session_id: str) -> str:
        return f"{session_id}{_SEP}{self._signature(self._keys[0], session_id).decode('ascii')}"

    def sign(self, session_id: str) -> str:
        """Return the cookie value for `session_id`: ``<id>.<signature>``, ASCII (as itsdangerous'
        `Signer.sign` with HMAC-SHA256 key derivation and this package's salt)."""
        return self._sign_cached(session_id)

    def unsign(self, value: object) -> str | None:
        """Return the id only for exactly a value that `sign` produced with one of the keys.

        Anything else (tampered, truncated, padded, garbage, non-ASCII, an unknown key, not a
        string) gives None. Never raises.
        """
        if type(value) is not str or len(value) > _MAX_COOKIE:
            return None
        return self._unsign_cached(value)

    def _unsign(self, value: str) -> str | None:
        if not value.isascii():
            return None
        session_id, sep, _ = value.rpartition(_SEP)
        if not sep or not is_valid_id(session_id):
            return None
        signature = value[len(session_id) + 1 :].encode("ascii")
        for key in self._keys:
            # Compare against the canonical signature: no alternative encodings get through.
            if hmac.compare_digest(self._signature(key, session_id), signature):
                return session_id
        return None
