"""HTTP behaviour of the session integrations (API.md, "HTTP behaviour"), framework-neutral.

Every test drives a `Site` through its `ClientDriver` only, so the same scenarios run on each framework
the `framework` fixture lists, over memory:// and a real Redis.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import redis

from redis_sessions import SessionIdSigner
from redis_sessions._layout import KeyLayout
from tests._backends import backend_url_of
from tests.http.driver import OffsetClock, Reply, Site, SiteFactory, wait_until


@pytest.fixture(params=["memory", "redis", "cluster"])
def backend_url(request: pytest.FixtureRequest) -> str:
    """These scenarios run once more on a local Redis Cluster (3 primaries): through every framework."""
    return backend_url_of(request, request.param)


def issued(site: Site, reply: Reply) -> str:
    """The session id of a live cookie the reply sets (fails if it sets none)."""
    cookie = reply.cookie(site.cookie_name)
    assert cookie is not None and not cookie.expires_now, reply
    session_id = site.signer.unsign(cookie.value)
    assert session_id is not None
    return session_id


def assert_expired(site: Site, reply: Reply) -> None:
    cookie = reply.cookie(site.cookie_name)
    assert cookie is not None, f"expected the cookie to be expired: {reply}"
    assert cookie.expires_now, cookie.raw
    assert cookie.attrs["path"] == site.config.cookie_path


# -- no cookie ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/read", "/noop", "/whoami"])
def test_request_without_cookie_that_does_not_write_creates_nothing(site: Site, path: str) -> None:
    before = site.round_trips()
    reply = site.client.get(path)
    assert reply.status == 200
    assert reply.set_cookies == ()
    assert site.round_trips() == before
    assert site.inspector.count() == 0


def test_first_write_creates_the_session_in_one_round_trip(site: Site) -> None:
    before = site.round_trips()
    reply = site.client.post("/write", {"cart": [1, 2]})
    assert reply.status == 200
    assert site.round_trips() - before == 1
    session_id = issued(site, reply)
    assert site.session_id() == session_id
    assert site.stored_data(session_id) == {"cart": [1, 2]}


def test_read_only_handlers_on_a_new_session_that_clear_or_regenerate_store_nothing(site: Site) -> None:
    for path in ("/logout", "/regenerate", "/empty"):
        reply = site.client.post(path)
        assert reply.status == 200
        assert reply.set_cookies == ()
    assert site.inspector.count() == 0


# -- a valid cookie ----------------------------------------------------------------------------------
def test_read_with_a_fresh_cookie_is_one_round_trip_slides_and_sends_no_cookie(site: Site) -> None:
    site.new_session_cookie({"seen": True})
    session_id = site.session_id()
    assert session_id is not None
    time.sleep(0.1)  # let the stored TTL run down a little, so a slide is visible
    left_before = site.pttl_ms(session_id)
    before = site.round_trips()

    reply = site.client.get("/read")

    assert reply.status == 200
    assert reply.body == {"data": {"seen": True}}
    assert site.round_trips() - before == 1
    assert reply.cookie(site.cookie_name) is None  # the browser's copy is fresh: cacheable
    left_after = site.pttl_ms(session_id)
    assert left_before is not None and left_after is not None
    assert left_after > left_before  # the load slid the expiry
    assert left_after <= site.config.ttl * 1000


def test_handler_that_never_touches_the_session_still_slides_it(site: Site) -> None:
    site.new_session_cookie()
    session_id = site.session_id()
    assert session_id is not None
    time.sleep(0.1)
    left_before = site.pttl_ms(session_id)
    before = site.round_trips()

    reply = site.client.get("/noop")

    assert reply.status == 200
    assert site.round_trips() - before <= 1
    assert reply.cookie(site.cookie_name) is None
    left_after = site.pttl_ms(session_id)
    assert left_before is not None and left_after is not None
    assert left_after > left_before


def test_a_read_re_sends_the_cookie_once_it_is_a_quarter_of_the_ttl_old(open_site: SiteFactory) -> None:
    clock = OffsetClock()
    with open_site(clock=clock, ttl=100) as site:
        first = site.client.post("/write", {"k": 1}).cookie(site.cookie_name)
        assert first is not None
        session_id = site.session_id()

        clock.advance(24)  # under a quarter of the ttl: the browser's copy has over 75 s left
        assert site.client.get("/read").cookie(site.cookie_name) is None
        clock.advance(2)
        before = site.round_trips()
        reply = site.client.get("/read")
        refreshed = reply.cookie(site.cookie_name)
        assert refreshed is not None and 99 <= refreshed.max_age <= 100
        assert refreshed.value != first.value  # signed again, now
        assert site.session_id() == session_id  # the same session
        assert site.round_trips() - before == 1  # at no extra round trip
        assert site.client.get("/read").cookie(site.cookie_name) is None  # fresh again


def test_write_with_valid_cookie_keeps_the_id_and_costs_at_most_two_round_trips(site: Site) -> None:
    site.new_session_cookie({"a": 1, "b": 2})
    session_id = site.session_id()
    assert session_id is not None
    before = site.round_trips()

    reply = site.client.post("/write", {"b": 3, "c": 4})

    assert reply.status == 200
    assert site.round_trips() - before <= 2
    assert issued(site, reply) == session_id
    assert site.stored_data(session_id) == {"a": 1, "b": 3, "c": 4}
    reply = site.client.post("/remove", ["a"])
    assert reply.status == 200
    assert site.stored_data(session_id) == {"b": 3, "c": 4}


def test_whoami_sees_the_full_session_object(site: Site) -> None:
    anonymous = site.client.get("/whoami")
    assert anonymous.body["is_new"] is True and anonymous.body["user_id"] is None
    site.new_session_cookie()
    reply = site.client.get("/whoami")
    assert reply.body == {"id": site.session_id(), "user_id": None, "is_new": False}


# -- cookies that do not name a live session ---------------------------------------------------------
def _bad_cookies(cookie: str, session_id: str) -> dict[str, bytes]:
    """Cookie values that must all read as "no session", built from a real `cookie`."""
    flipped = cookie[:-1] + ("A" if cookie[-1] != "A" else "B")
    other_id = ("B" if session_id[0] != "B" else "C") + session_id[1:]
    forged = SessionIdSigner(["some-other-key"]).sign(session_id)
    return {
        "tampered signature": flipped.encode(),
        "tampered id": (other_id + cookie[len(session_id) :]).encode(),
        "truncated": cookie[:-1].encode(),
        "padded": (cookie + "=").encode(),
        "signature only": cookie[len(session_id) :].encode(),
        "raw unsigned id": session_id.encode(),
        "signed by an unknown key": forged.encode(),
        "garbage": b"not-a-session-cookie",
        "empty": b"",
        "non-ascii utf-8": (cookie + "\u00e9").encode(),
        "non-ascii latin-1": cookie.encode() + b"\xff",
        "oversized": (cookie * 100).encode(),
    }


BAD_COOKIE_KINDS = list(_bad_cookies("x" * 80, "y" * 27))


@pytest.mark.parametrize("kind", BAD_COOKIE_KINDS)
def test_bad_cookie_is_no_session_and_a_write_gets_a_fresh_id(site: Site, kind: str) -> None:
    cookie = site.new_session_cookie({"owner": "victim"})
    real_id = site.session_id()
    assert real_id is not None
    header = site.cookie_name.encode() + b"=" + _bad_cookies(cookie, real_id)[kind]
    site.client.clear_jar()

    read = site.client.get("/read", cookie_header=header)
    assert read.status == 200
    assert read.body == {"data": {}}
    assert read.set_cookies == ()

    write = site.client.post("/write", {"owner": "attacker"}, cookie_header=header)
    assert write.status == 200
    new_id = issued(site, write)
    assert new_id != real_id
    assert new_id not in header.decode("latin-1")  # never an id the client sent
    assert site.stored_data(new_id) == {"owner": "attacker"}
    assert site.stored_data(real_id) == {"owner": "victim"}


def test_cookie_of_a_deleted_session_is_no_session_and_is_never_reused(site: Site) -> None:
    cookie = site.new_session_cookie({"k": "v"})
    old_id = site.session_id()
    assert old_id is not None
    assert site.inspector.delete(old_id)

    read = site.client.get("/read")
    assert read.status == 200
    assert read.body == {"data": {}}
    assert read.set_cookies == ()

    write = site.client.post("/write", {"k": "again"}, cookie_header=f"{site.cookie_name}={cookie}".encode())
    assert write.status == 200
    new_id = issued(site, write)
    assert new_id != old_id
    assert site.stored(old_id) is None
    assert site.stored_data(new_id) == {"k": "again"}


def test_cookie_past_the_absolute_deadline_is_no_session(open_site: SiteFactory) -> None:
    clock = OffsetClock()
    with open_site(clock=clock, ttl=100, absolute_ttl=5) as site:
        site.new_session_cookie({"k": "v"})
        old_id = site.session_id()
        assert old_id is not None
        clock.advance(6)

        read = site.client.get("/read")
        assert read.status == 200
        assert read.body == {"data": {}}
        assert read.set_cookies == ()
        assert site.stored(old_id) is None  # the load found it past its deadline

        write = site.client.post("/write", {"k": "new"})
        assert write.status == 200
        assert issued(site, write) != old_id


def test_cookie_whose_session_idled_out_in_redis_is_no_session(
    open_redis_site: SiteFactory, redis_client: redis.Redis
) -> None:
    with open_redis_site() as site:
        site.new_session_cookie({"k": "v"})
        old_id = site.session_id()
        assert old_id is not None
        key = KeyLayout(site.config.key_prefix).session_key(old_id)
        assert redis_client.pexpire(key, 1)
        assert wait_until(lambda: not redis_client.exists(key))

        read = site.client.get("/read")
        assert read.status == 200
        assert read.body == {"data": {}}
        assert read.set_cookies == ()
        write = site.client.post("/write", {"k": "new"})
        assert issued(site, write) != old_id


def test_session_cookie_is_found_among_other_cookies(site: Site) -> None:
    cookie = site.new_session_cookie({"k": "v"})
    name = site.cookie_name
    header = f"a=1; {name}x=decoy; x{name}=decoy; {name}={cookie}; b=2".encode()
    site.client.clear_jar()
    reply = site.client.get("/read", cookie_header=header)
    assert reply.body == {"data": {"k": "v"}}


# -- emptied, cleared, regenerated -------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/empty", "/logout"])
def test_emptied_or_cleared_session_is_deleted_and_its_cookie_expired(site: Site, path: str) -> None:
    cookie = site.new_session_cookie({"a": 1, "b": 2})
    session_id = site.session_id()
    assert session_id is not None

    reply = site.client.post(path)

    assert reply.status == 200
    assert reply.body == {"data": {}}
    assert_expired(site, reply)
    assert site.stored(session_id) is None
    assert not site.inspector.exists(session_id)
    assert site.client.jar_cookie(site.cookie_name) is None  # the client dropped it
    replayed = site.client.get("/read", cookie_header=f"{site.cookie_name}={cookie}".encode())
    assert replayed.body == {"data": {}}
    assert replayed.set_cookies == ()


def test_logout_removes_the_session_from_its_user_index(site: Site) -> None:
    site.new_session_cookie({"cart": []})
    assert site.client.post("/login", {"user": "u-logout"}).status == 200
    session_id = site.session_id()
    assert [s.id for s in site.inspector.sessions_for_user("u-logout")] == [session_id]

    assert_expired(site, site.client.post("/logout"))

    assert site.inspector.sessions_for_user("u-logout") == []


@pytest.mark.parametrize("path", ["/regenerate", "/login"])
def test_regenerate_gives_a_new_id_with_the_same_data(site: Site, path: str) -> None:
    old_cookie = site.new_session_cookie({"cart": ["apple"]})
    old_id = site.session_id()
    before = site.round_trips()

    reply = site.client.post(path, {"user": "alice"})

    assert reply.status == 200
    assert site.round_trips() - before <= 2
    new_id = issued(site, reply)
    assert new_id != old_id
    assert site.session_id() == new_id
    assert site.stored_data(new_id) == {"cart": ["apple"]}
    assert old_id is not None and site.stored(old_id) is None
    assert site.client.get("/read").body == {"data": {"cart": ["apple"]}}
    old = site.client.get("/read", cookie_header=f"{site.cookie_name}={old_cookie}".encode())
    assert old.body == {"data": {}}
    assert old.set_cookies == ()
    whoami = site.client.get("/whoami").body
    assert whoami["id"] == new_id
    if path == "/login":
        assert whoami["user_id"] == "alice"
        assert [s.id for s in site.inspector.sessions_for_user("alice")] == [new_id]


def test_login_on_a_brand_new_session_issues_one_cookie(site: Site) -> None:
    reply = site.client.post("/login", {"user": "bob"})
    assert reply.status == 200
    new_id = issued(site, reply)
    assert site.client.get("/whoami").body == {"id": new_id, "user_id": "bob", "is_new": False}


# -- cookie attributes and Max-Age ---------------------------------------------------------------------
def test_default_cookie_attributes(site: Site) -> None:
    cookie = site.client.post("/write", {"k": 1}).cookie(site.cookie_name)
    assert cookie is not None
    assert cookie.name == "session"
    assert cookie.attrs["path"] == "/"
    assert "httponly" in cookie.attrs
    assert cookie.attrs["samesite"].lower() == "lax"
    assert "secure" not in cookie.attrs
    assert "domain" not in cookie.attrs


def test_configured_cookie_attributes_on_set_and_on_expire(open_site: SiteFactory) -> None:
    options: dict[str, Any] = {
        "cookie_name": "sid",
        "cookie_path": "/",
        "cookie_domain": "example.test",
        "cookie_secure": True,
        "cookie_samesite": "strict",
    }
    with open_site(**options) as site:
        reply = site.client.post("/write", {"k": 1})
        assert reply.cookie("session") is None
        cookie = reply.cookie("sid")
        assert cookie is not None
        for expired_too in (False, True):
            assert cookie.attrs["path"] == "/"
            assert cookie.attrs["domain"] == "example.test"
            assert "secure" in cookie.attrs
            assert "httponly" in cookie.attrs
            assert cookie.attrs["samesite"].lower() == "strict"
            if expired_too:
                break
            # The jar will not send a Domain=example.test cookie to testserver: send it by hand.
            logout = site.client.post("/logout", cookie_header=f"sid={cookie.value}".encode())
            expired = logout.cookie("sid")
            assert expired is not None and expired.expires_now
            cookie = expired


def test_httponly_can_be_turned_off(open_site: SiteFactory) -> None:
    with open_site(cookie_httponly=False) as site:
        cookie = site.client.post("/write", {"k": 1}).cookie(site.cookie_name)
        assert cookie is not None and "httponly" not in cookie.attrs


def test_max_age_never_outlives_the_absolute_deadline(open_site: SiteFactory) -> None:
    clock = OffsetClock()
    with open_site(clock=clock, ttl=100, absolute_ttl=5) as site:
        created = site.client.post("/write", {"k": 1})
        session_id = issued(site, created)
        first = created.cookie(site.cookie_name)
        assert first is not None and 4 <= first.max_age <= 5
        left = site.pttl_ms(session_id)
        assert left is not None and 0 < left <= 5000

        clock.advance(3)  # three of the five seconds are gone; ttl (100 s) would reach far beyond
        reply = site.client.get("/read")
        assert reply.status == 200
        assert reply.cookie(site.cookie_name) is None  # the browser's copy ends at the deadline
        left = site.pttl_ms(session_id)
        assert left is not None and 0 < left <= 2000  # the slide stopped at the deadline

        write = site.client.post("/write", {"k": 2})
        cookie = write.cookie(site.cookie_name)
        assert cookie is not None and 1 <= cookie.max_age <= 2


def test_max_age_is_the_idle_ttl_when_that_is_shorter(open_site: SiteFactory) -> None:
    with open_site(ttl=3, absolute_ttl=100) as site:
        reply = site.client.post("/write", {"k": 1})
        cookie = reply.cookie(site.cookie_name)
        assert cookie is not None and 2 <= cookie.max_age <= 3
        session_id = issued(site, reply)
        left = site.pttl_ms(session_id)
        assert left is not None and 0 < left <= 3000


# -- a sanity check of the harness itself ------------------------------------------------------------
def test_sites_of_one_backend_and_prefix_share_sessions(open_site: SiteFactory) -> None:
    """A session written by one app instance is read by another on the same URL and prefix
    (what makes a scenario on one framework meaningful for the others)."""
    with open_site() as first, open_site() as second:
        cookie = first.new_session_cookie({"shared": True})
        second.client.set_jar_cookie(second.cookie_name, cookie)
        assert second.client.get("/read").body == {"data": {"shared": True}}


# -- a new id on every change of user (OWASP: renew the id on any privilege change) -----------------
def test_binding_or_changing_the_user_gives_the_session_a_fresh_id(site: Site) -> None:
    site.new_session_cookie({"cart": [1]})
    anonymous_id = site.session_id()
    assert anonymous_id is not None

    bound = site.client.post("/bind", {"user": "alice"})
    alice_id = issued(site, bound)
    assert alice_id != anonymous_id and not site.inspector.exists(anonymous_id)
    assert [s.id for s in site.inspector.sessions_for_user("alice")] == [alice_id]
    assert site.stored_data(alice_id) == {"cart": [1]}

    switched = site.client.post("/bind", {"user": "bob"})
    bob_id = issued(site, switched)
    assert bob_id != alice_id and not site.inspector.exists(alice_id)
    assert site.inspector.sessions_for_user("alice") == []
    assert [s.id for s in site.inspector.sessions_for_user("bob")] == [bob_id]

    again = site.client.post("/bind", {"user": "bob"})  # the same user again: nothing changes
    assert again.cookie(site.cookie_name) is None and site.session_id() == bob_id


# -- one cookie-parsing rule in every integration ---------------------------------------------------
def test_a_quoted_cookie_value_is_the_same_session(site: Site) -> None:
    cookie = site.new_session_cookie({"k": "v"})
    site.client.clear_jar()
    reply = site.client.get("/read", cookie_header=f'{site.cookie_name}="{cookie}"'.encode())
    assert reply.body == {"data": {"k": "v"}}


def test_of_two_cookies_of_one_name_the_first_valid_one_wins(site: Site) -> None:
    first = site.new_session_cookie({"which": "first"})
    site.client.clear_jar()
    second = site.new_session_cookie({"which": "second"})
    site.client.clear_jar()
    name = site.cookie_name

    stale_then_valid = f"{name}=stale-value-from-another-path; {name}={second}".encode()
    assert site.client.get("/read", cookie_header=stale_then_valid).body == {"data": {"which": "second"}}
    both_valid = f"other=1; {name}={first}; {name}={second}".encode()
    assert site.client.get("/read", cookie_header=both_valid).body == {"data": {"which": "first"}}
    tampered_then_valid = f"{name}={first[:-1]}x; {name}={second}".encode()
    assert site.client.get("/read", cookie_header=tampered_then_valid).body == {"data": {"which": "second"}}


def test_a_response_that_used_the_session_varies_on_cookie(site: Site) -> None:
    site.new_session_cookie({"k": 1})
    read = site.client.get("/read")
    assert read.vary is not None and "cookie" in read.vary.lower()
    assert site.client.get("/noop").vary is None
