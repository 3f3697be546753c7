"""`SessionIdSigner`: the cookie value is the session id and the time it was signed, with an
HMAC-SHA256 signature (itsdangerous' `TimestampSigner` form)."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import NamedTuple

from itsdangerous import Signer
from itsdangerous.encoding import base64_decode, base64_encode, bytes_to_int, int_to_bytes

from ._ids import is_valid_id

SALT = "redis_sessions.session-id"
_SEP = "."
_MAX_COOKIE = 128  # id (27) + separator + time (6) + separator + signature (43): longer is not ours
_MAX_TIME_CHARS = 8


class SignedId(NamedTuple):
    """What a verified cookie value says: the session id, and when it was signed (epoch seconds),
    which tells how old the browser's copy of the cookie is."""

    session_id: str
    signed_at: int


class SessionIdSigner:
    """Signs session ids for cookies and verifies them; the first key signs, every key verifies.

    The cookie value is ``<id>.<time>.<signature>`` as itsdangerous' `TimestampSigner` makes it
    (HMAC-SHA256 key derivation, this package's salt). The time is not an expiry (Redis expires
    sessions); it tells the request policy when the browser last got the cookie, so an unchanged
    session's cookie is re-sent only once it is a quarter of the idle ttl old. The same keys give
    the same cookies in every integration (ASGI, Django, Flask), which is what lets one session
    move between frameworks. `clock` (epoch seconds) is for tests.
    """

    __slots__ = ("_clock", "_keys", "_sign_cached", "_signer", "_verify_cached")

    def __init__(self, secret_keys: Sequence[str], *, clock: Callable[[], float] = time.time) -> None:
        if isinstance(secret_keys, str) or not secret_keys:
            raise ValueError("secret_keys must be a non-empty list of strings")
        signers = [
            Signer(key, salt=SALT, sep=_SEP, key_derivation="hmac", digest_method=hashlib.sha256)
            for key in secret_keys
        ]
        self._signer = signers[0]
        self._clock = clock
        # Derive each key once, not on every signature as Signer.sign does.
        self._keys = tuple(signer.derive_key() for signer in signers)
        # Within one second the same id signs to the same value: cache it.
        self._sign_cached = lru_cache(maxsize=1024)(self._sign)
        # A browser sends the same cookie on every request: verify each value once. The keys never
        # change, so a cached answer stays right; a hit needs the exact string, signature included.
        self._verify_cached = lru_cache(maxsize=4096)(self._verify)

    def _signature(self, key: bytes, payload: str) -> bytes:
        return base64_encode(self._signer.algorithm.get_signature(key, payload.encode("ascii")))

    def _sign(self, session_id: str, signed_at: int) -> str:
        payload = f"{session_id}{_SEP}{base64_encode(int_to_bytes(signed_at)).decode('ascii')}"
        return f"{payload}{_SEP}{self._signature(self._keys[0], payload).decode('ascii')}"

    def sign(self, session_id: str) -> str:
        """Return the cookie value for `session_id`, signed now: ``<id>.<time>.<signature>``,
        ASCII. Raises `ValueError` for a value that is not a session id of the store's shape (so
        every value `sign` accepts comes back from `unsign`)."""
        if type(session_id) is not str or not is_valid_id(session_id):
            raise ValueError("not a session id made by this package")
        return self._sign_cached(session_id, int(self._clock()))

    def unsign(self, value: object) -> str | None:
        """Return the id only for exactly a value that `sign` produced with one of the keys.

        Anything else (tampered, truncated, padded, garbage, non-ASCII, an unknown key, not a
        string) gives None. Never raises.
        """
        verified = self.verify(value)
        return None if verified is None else verified.session_id

    def verify(self, value: object) -> SignedId | None:
        """`unsign`, also telling when the value was signed; None for anything `unsign` refuses."""
        if type(value) is not str or len(value) > _MAX_COOKIE:
            return None
        return self._verify_cached(value)

    def _verify(self, value: str) -> SignedId | None:
        if not value.isascii():
            return None
        payload, sep, signature = value.rpartition(_SEP)
        session_id, sep2, stamp = payload.rpartition(_SEP)
        if not (sep and sep2) or not is_valid_id(session_id) or not 0 < len(stamp) <= _MAX_TIME_CHARS:
            return None
        expected = signature.encode("ascii")
        for key in self._keys:
            # Compare against the canonical signature: no alternative encodings get through.
            if hmac.compare_digest(self._signature(key, payload), expected):
                signed_at = bytes_to_int(base64_decode(stamp))
                if base64_encode(int_to_bytes(signed_at)).decode("ascii") != stamp:
                    return None  # only the canonical encoding of the time
                return SignedId(session_id, signed_at)
        return None
