"""The one cookie-parsing rule every integration shares (`_http.verified_cookie`)."""

from __future__ import annotations

import pytest

from redis_sessions import SessionIdSigner
from redis_sessions._http import verified_cookie

SIGNER = SessionIdSigner(["k"])
ONE = SIGNER.sign("abcdABCD0123456789-_abcdefg")
TWO = SIGNER.sign("wxyzABCD0123456789-_abcdefg")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (f"session={ONE}", ONE),
        (f"a=1; session={ONE}; b=2", ONE),
        (f"a=1;session={ONE}", ONE),
        (f'session="{ONE}"', ONE),  # RFC 6265 allows a quoted value
        (f"session=stale; session={ONE}", ONE),  # the first that verifies
        (f"session={TWO}; session={ONE}", TWO),  # both valid: the first
        (f"session={ONE[:-1]}x; session={TWO}", TWO),
        (f"xsession={ONE}", None),  # another cookie whose name ends in ours
        (f"my-session={ONE}; session=garbage", None),
        (f"session={ONE}x", None),
        ("", None),
        (None, None),
        ("session=", None),
        ('session="', None),
    ],
)
def test_the_first_value_that_verifies_is_the_cookie(header: str | None, expected: str | None) -> None:
    assert verified_cookie(SIGNER, header, "session") == expected


def test_a_prefixed_cookie_name_is_matched_whole() -> None:
    assert verified_cookie(SIGNER, f"session={TWO}; __Host-session={ONE}", "__Host-session") == ONE
