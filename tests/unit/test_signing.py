"""SessionIdSigner: the id comes back only for exactly what `sign` produced; anything else is None."""

from __future__ import annotations

import hashlib
import string
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from redis_sessions import SessionIdSigner
from redis_sessions._ids import new_session_id
from redis_sessions.signing import SignedId

KEY = "current-key-0123456789"
OLD_KEY = "old-key-9876543210"
SESSION_ID = "abcdABCD0123456789-_abcdefg"  # the shape of an id: 27 url-safe characters
SIGNED_AT = 1_700_000_000


def make_signer(keys: Any) -> SessionIdSigner:
    """A signer whose clock stands still, so that signatures can be compared."""
    return SessionIdSigner(keys, clock=lambda: SIGNED_AT)


signer = make_signer([KEY])
SIGNED = signer.sign(SESSION_ID)

ids = st.builds(new_session_id)
keys = st.text(min_size=1, max_size=40)


def test_round_trip() -> None:
    assert signer.unsign(SIGNED) == SESSION_ID
    assert signer.verify(SIGNED) == SignedId(SESSION_ID, SIGNED_AT)
    assert SIGNED.isascii()
    assert SIGNED.startswith(SESSION_ID)
    assert SIGNED != SESSION_ID


def test_signing_is_deterministic_per_key() -> None:
    assert make_signer([KEY]).sign(SESSION_ID) == SIGNED
    assert make_signer([OLD_KEY]).sign(SESSION_ID) != SIGNED


def test_cookie_value_is_cookie_safe() -> None:
    allowed = set(string.ascii_letters + string.digits + "-_.")
    assert set(SIGNED) <= allowed


@given(session_id=ids, key=keys)
def test_round_trip_any_id_and_key(session_id: str, key: str) -> None:
    one = make_signer([key])
    assert one.unsign(one.sign(session_id)) == session_id


def flip(char: str) -> str:
    return "B" if char == "A" else "A"


def tampered_values() -> dict[str, str]:
    sep = SIGNED.index(".")
    sig = SIGNED[sep + 1 :]
    other_id = new_session_id()
    stamp, signature = sig.split(".")
    return {
        "time changed": f"{SESSION_ID}.{stamp[:-1]}{flip(stamp[-1])}.{signature}",
        "time dropped": f"{SESSION_ID}.{signature}",
        "time of another cookie": f"{SESSION_ID}.{stamp[::-1]}.{signature}",
        "time padded": f"{SESSION_ID}.A{stamp}.{signature}",
        "signature char changed": SIGNED[:-1] + flip(SIGNED[-1]),
        "first signature char changed": SIGNED[: sep + 1] + flip(sig[0]) + sig[1:],
        "id char changed": flip(SIGNED[0]) + SIGNED[1:],
        "id swapped": other_id + SIGNED[sep:],
        "upper-cased": SIGNED.upper(),
        "lower-cased": SIGNED.lower(),
        "truncated by one": SIGNED[:-1],
        "truncated to half": SIGNED[: len(SIGNED) // 2],
        "id only": SESSION_ID,
        "id and dot": SESSION_ID + ".",
        "signature only": sig,
        "dot and signature": "." + sig,
        "padded with =": SIGNED + "=",
        "padded with ==": SIGNED + "==",
        "leading space": " " + SIGNED,
        "trailing space": SIGNED + " ",
        "trailing newline": SIGNED + "\n",
        "trailing tab": SIGNED + "\t",
        "inner space": SIGNED[:10] + " " + SIGNED[10:],
        "quoted": f'"{SIGNED}"',
        "doubled": SIGNED + SIGNED,
        "extra dot part": SIGNED + ".x",
        "standard base64 alphabet": SIGNED.replace("-", "+").replace("_", "/"),
        "non-ASCII char": SIGNED[:-1] + "é",
        "non-ASCII lookalike": SIGNED.replace("a", "\u0430"),  # Cyrillic a
        "fullwidth char": SIGNED[:-1] + "\uff21",  # fullwidth A
        "NUL appended": SIGNED + "\x00",
        "empty": "",
        "dot": ".",
        "garbage": "hello world",
        "many dots": "a.b.c.d",
        "very long": "A" * 10_000,
        "long with valid prefix": SIGNED + "A" * 1000,
    }


@pytest.mark.parametrize(("name", "value"), list(tampered_values().items()))
def test_anything_but_the_exact_value_gives_none(name: str, value: str) -> None:
    assert value != SIGNED
    assert signer.unsign(value) is None


@pytest.mark.parametrize(
    "value",
    [None, SIGNED.encode(), bytearray(SIGNED.encode()), 42, 4.2, [SIGNED], {"v": SIGNED}, object()],
    ids=repr,
)
def test_non_strings_give_none(value: Any) -> None:
    assert signer.unsign(value) is None


def test_unknown_key_gives_none() -> None:
    stranger = make_signer(["some-other-key"])
    assert stranger.unsign(SIGNED) is None
    assert signer.unsign(stranger.sign(SESSION_ID)) is None


def test_key_rotation_first_key_signs_all_verify() -> None:
    old = make_signer([OLD_KEY])
    rotated = make_signer([KEY, OLD_KEY])
    signed_before_rotation = old.sign(SESSION_ID)

    assert rotated.unsign(signed_before_rotation) == SESSION_ID
    assert rotated.unsign(SIGNED) == SESSION_ID
    assert rotated.sign(SESSION_ID) == SIGNED  # the first key signs
    assert old.unsign(rotated.sign(SESSION_ID)) is None
    assert signer.unsign(signed_before_rotation) is None  # once dropped, the old key verifies nothing


def test_key_order_decides_who_signs() -> None:
    assert make_signer([OLD_KEY, KEY]).sign(SESSION_ID) == make_signer([OLD_KEY]).sign(SESSION_ID)


@given(value=st.text())
def test_random_text_never_raises_and_is_rejected(value: str) -> None:
    assert signer.unsign(value) is None


@given(value=st.one_of(st.binary(), st.integers(), st.none(), st.lists(st.text()), st.floats()))
def test_random_non_text_never_raises(value: object) -> None:
    assert signer.unsign(value) is None


@given(session_id=ids, position=st.integers(min_value=0), char=st.characters())
def test_any_single_character_change_is_rejected(session_id: str, position: int, char: str) -> None:
    value = signer.sign(session_id)
    position %= len(value)
    changed = value[:position] + char + value[position + 1 :]
    if changed == value:
        assert signer.unsign(changed) == session_id
    else:
        assert signer.unsign(changed) is None


@given(session_id=ids, suffix=st.text(min_size=1))
def test_any_suffix_is_rejected(session_id: str, suffix: str) -> None:
    assert signer.unsign(signer.sign(session_id) + suffix) is None


@pytest.mark.parametrize("value", ["", "short", SESSION_ID + "x", SIGNED, "é" * 27, None, 42], ids=repr)
def test_sign_refuses_what_is_not_a_session_id(value: Any) -> None:
    with pytest.raises(ValueError):
        signer.sign(value)


@given(value=st.text(max_size=40))
def test_every_value_sign_accepts_comes_back_from_unsign(value: str) -> None:
    try:
        signed = signer.sign(value)
    except ValueError:
        return
    assert signer.unsign(signed) == value


def test_the_time_is_itsdangerous_timestamp_signer_form() -> None:
    from itsdangerous import TimestampSigner

    reference = TimestampSigner(
        KEY, salt="redis_sessions.session-id", key_derivation="hmac", digest_method=hashlib.sha256
    )
    value, signed_at = reference.unsign(SIGNED, return_timestamp=True)
    assert (value.decode(), int(signed_at.timestamp())) == (SESSION_ID, SIGNED_AT)
    assert signer.verify(reference.sign(SESSION_ID).decode()) is not None


@pytest.mark.parametrize("keys", [[], "a-string-not-a-list"], ids=repr)
def test_signer_needs_a_list_of_keys(keys: Any) -> None:
    with pytest.raises(ValueError):
        SessionIdSigner(keys)


def test_a_verified_cookie_remembered_for_speed_is_remembered_per_signer() -> None:
    assert signer.unsign(SIGNED) == SESSION_ID  # now remembered by `signer`
    assert make_signer(["some-other-key"]).unsign(SIGNED) is None
    assert signer.unsign(SIGNED[:-1] + ("A" if SIGNED[-1] != "A" else "B")) is None


def test_string_subclasses_give_none() -> None:
    class Sneaky(str):
        def __hash__(self) -> int:
            return 0

    assert signer.unsign(Sneaky(SIGNED)) is None
