"""The round-trip budget of a request, proven from what Redis received (MONITOR) and from the
store's own `round_trips` counter.

MONITOR lists every command a client sent, and separately (as "lua") the calls a script made inside
Redis, which cost no round trip. A round trip sends at least one command, so the number of sent
commands bounds the round trips from above; when it is 1, the request took exactly one.
"""

from __future__ import annotations

import redis

from redis_sessions._layout import KeyLayout
from tests.http.driver import Site, SiteFactory
from tests.http.redis_tools import CommandRecorder


def _session_key(site: Site) -> str:
    session_id = site.session_id()
    assert session_id is not None
    return KeyLayout(site.config.key_prefix).session_key(session_id)


def _warm_site(site: Site) -> str:
    """Create a session through the app, so its connection is open before anything is counted."""
    cookie = site.new_session_cookie({"seen": 1})
    assert site.client.get("/read").status == 200
    return cookie


def test_no_cookie_and_no_write_sends_no_command(
    open_redis_site: SiteFactory, recorder: CommandRecorder
) -> None:
    with open_redis_site() as site:
        _warm_site(site)
        site.client.clear_jar()
        before = site.round_trips()
        with recorder.record() as log:
            replies = [site.client.get("/read"), site.client.get("/noop"), site.client.get("/whoami")]
        assert [r.status for r in replies] == [200, 200, 200]
        assert all(r.set_cookies == () for r in replies)
        assert log.sent == []
        assert log.lua == []
        assert site.round_trips() == before


def test_read_with_valid_cookie_is_exactly_one_round_trip_including_the_slide(
    open_redis_site: SiteFactory, recorder: CommandRecorder, redis_client: redis.Redis
) -> None:
    with open_redis_site(ttl=600) as site:
        _warm_site(site)
        key = _session_key(site)
        redis_client.pexpire(key, 5000)  # so the slide back to 600 s is unmistakable
        before = site.round_trips()

        with recorder.record() as log:
            reply = site.client.get("/read")

        assert reply.status == 200
        assert reply.body == {"data": {"seen": 1}}
        # One GETEX: the read and the TTL extension in a single command (a session with its own
        # ttl or an absolute deadline would send one EVALSHA of load.lua instead).
        assert log.sent == [["GETEX", key, "PX", "600000"]], log.sent
        assert site.round_trips() - before == 1
        assert redis_client.pttl(key) > 590_000
        # The browser's cookie is fresh: no Set-Cookie (a cacheable response), the slide is Redis'.
        assert reply.cookie(site.cookie_name) is None


def test_untouched_session_costs_at_most_one_round_trip_and_still_slides(
    open_redis_site: SiteFactory, recorder: CommandRecorder, redis_client: redis.Redis
) -> None:
    with open_redis_site(ttl=600) as site:
        _warm_site(site)
        key = _session_key(site)
        redis_client.pexpire(key, 5000)
        before = site.round_trips()

        with recorder.record() as log:
            reply = site.client.get("/noop")

        assert reply.status == 200
        assert len(log.sent) <= 1, log.sent
        assert site.round_trips() - before <= 1
        assert redis_client.pttl(key) > 590_000
        # The browser's cookie is fresh: no Set-Cookie (a cacheable response), the slide is Redis'.
        assert reply.cookie(site.cookie_name) is None


def test_new_session_write_is_one_round_trip(open_redis_site: SiteFactory, recorder: CommandRecorder) -> None:
    with open_redis_site() as site:
        _warm_site(site)
        site.client.clear_jar()
        before = site.round_trips()

        with recorder.record() as log:
            reply = site.client.post("/write", {"fresh": True})

        assert reply.status == 200
        assert log.sent_names == ["SET"], log.sent  # SET ... PX ... NX: a new id never overwrites
        assert site.round_trips() - before == 1
        session_id = site.session_id()
        assert session_id is not None and site.stored_data(session_id) == {"fresh": True}


def test_write_with_valid_cookie_is_at_most_two_round_trips(
    open_redis_site: SiteFactory, recorder: CommandRecorder
) -> None:
    with open_redis_site() as site:
        _warm_site(site)
        before = site.round_trips()

        with recorder.record() as log:
            reply = site.client.post("/write", {"more": 2})

        assert reply.status == 200
        assert len(log.sent) <= 2, log.sent
        assert site.round_trips() - before <= 2
        # Only the changed field travels.
        assert not any("seen" in word for command in log.sent for word in command)
        session_id = site.session_id()
        assert session_id is not None and site.stored_data(session_id) == {"seen": 1, "more": 2}


def test_emptying_a_session_is_at_most_two_round_trips(
    open_redis_site: SiteFactory, recorder: CommandRecorder
) -> None:
    with open_redis_site() as site:
        _warm_site(site)
        key = _session_key(site)
        before = site.round_trips()

        with recorder.record() as log:
            reply = site.client.post("/empty")

        assert reply.status == 200
        assert len(log.sent) <= 2, log.sent
        assert site.round_trips() - before <= 2
        assert ["DEL", key] in log.lua  # the save script deletes it once no data is left


def test_login_is_at_most_two_round_trips(open_redis_site: SiteFactory) -> None:
    with open_redis_site() as site:
        _warm_site(site)
        before = site.round_trips()
        reply = site.client.post("/login", {"user": "carol"})
        assert reply.status == 200
        # Load, then the move and the user index in one pipeline.
        assert site.round_trips() - before <= 2
