"""`SessionIdSigner`: the cookie value is the session id with an HMAC-SHA256 signature (itsdangerous)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from itsdangerous import Signer

from ._ids import is_valid_id

SALT = "redis_sessions.session-id"
_SEP = "."
_MAX_COOKIE = 128  # id (26) + separator + signature (43); anything longer is not ours


class SessionIdSigner:
    """Signs session ids for cookies and verifies them; the first key signs, every key verifies.

    The same keys give the same cookie in every integration (ASGI, Django, Flask), which is what lets
    one session move between frameworks.
    """

    __slots__ = ("_signers",)

    def __init__(self, secret_keys: Sequence[str]) -> None:
        if isinstance(secret_keys, str) or not secret_keys:
            raise ValueError("secret_keys must be a non-empty list of strings")
        self._signers = tuple(
            Signer(key, salt=SALT, sep=_SEP, key_derivation="hmac", digest_method=hashlib.sha256)
            for key in secret_keys
        )

    def sign(self, session_id: str) -> str:
        """Return the cookie value for `session_id`: ``<id>.<signature>``, ASCII."""
        return self._signers[0].sign(session_id).decode("ascii")

    def unsign(self, value: object) -> str | None:
        """Return the id only for exactly a value that `sign` produced with one of the keys.

        Anything else (tampered, truncated, padded, garbage, non-ASCII, an unknown key, not a
        string) gives None. Never raises.
        """
        if not isinstance(value, str) or len(value) > _MAX_COOKIE or not value.isascii():
            return None
        session_id, sep, _ = value.rpartition(_SEP)
        if not sep or not is_valid_id(session_id):
            return None
        raw = value.encode("ascii")
        for signer in self._signers:
            # Compare against the canonical signed form: no alternative encodings get through.
            if hmac.compare_digest(signer.sign(session_id), raw):
                return session_id
        return None
