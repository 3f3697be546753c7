"""Value codecs: one session value in, bytes out. JSON by default, msgpack as an extra; never pickle."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ._record import blob_of
from .errors import SerializationError

Encoder = Callable[[Any], bytes]
Decoder = Callable[[str], Any]  # a stored value as `redis_sessions._record` reads it: text

_json_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_json_decoder = json.JSONDecoder()
_json_scan = _json_decoder.scan_once  # type: ignore[attr-defined]  # C scanner: one value from a position, as raw_decode uses


def _json_encode(value: Any) -> bytes:
    try:
        return _json_encoder.encode(value).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise SerializationError(f"not JSON-serializable: {exc}") from exc


def _json_decode(text: str) -> Any:
    try:
        try:
            value, end = _json_scan(text, 0)  # what we stored: one value, no whitespace around
            if end == len(text):
                return value
        except StopIteration:
            pass
        return _json_decoder.decode(text)  # anything else: the full parser, with its error
    except ValueError as exc:
        raise SerializationError(f"stored value is not valid JSON: {exc}") from exc


def _msgpack_codec() -> tuple[Encoder, Decoder]:
    import msgpack

    def encode(value: Any) -> bytes:
        try:
            return msgpack.packb(value, use_bin_type=True)  # type: ignore[no-any-return]
        except (TypeError, ValueError, OverflowError) as exc:
            raise SerializationError(f"not msgpack-serializable: {exc}") from exc

    def decode(text: str) -> Any:
        try:
            return msgpack.unpackb(blob_of(text), raw=False)
        except Exception as exc:  # msgpack raises several unrelated types
            raise SerializationError(f"stored value is not valid msgpack: {exc}") from exc

    return encode, decode


def codec(name: str) -> tuple[Encoder, Decoder]:
    """Return the (encode, decode) pair for a `SessionConfig.serializer` name."""
    if name == "msgpack":
        return _msgpack_codec()
    return _json_encode, _json_decode
