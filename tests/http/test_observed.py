"""What the integrations tell the store's observer about requests: cookies rejected and why,
sessions created, regenerated and ended (logout, emptied), the same on every framework."""

from __future__ import annotations

from tests._observer import Recorder
from tests.http.driver import OffsetClock, SiteFactory


def test_session_events_of_requests(open_site: SiteFactory) -> None:
    recorder = Recorder()
    with open_site(observer=recorder) as site:
        client = site.client
        client.post("/write", {"a": 1})
        client.post("/login", {"user": "u1"})
        client.post("/logout")
        assert ("request_start", "ok") in recorder.operations()
        assert ("request_end", "ok") in recorder.operations()
        assert recorder.take() == [("created",), ("regenerated",), ("destroyed", "logout", 1)]

        client.clear_jar()
        client.post("/write", {"a": 1})
        client.post("/empty")
        assert recorder.take() == [("created",), ("destroyed", "emptied", 1)]


def test_rejected_cookies_by_reason(open_site: SiteFactory) -> None:
    recorder = Recorder()
    clock = OffsetClock()
    with open_site(observer=recorder, clock=clock, ttl=100) as site:
        name = site.cookie_name
        assert site.client.get("/read", cookie_header=f"{name}=garbage".encode()).status == 200
        assert recorder.take() == [("rejected", "tampered")]

        value = site.new_session_cookie()
        session_id = site.signer.unsign(value)
        assert session_id is not None
        site.inspector.delete(session_id)
        recorder.take()
        site.client.get("/read", cookie_header=f"{name}={value}".encode())
        assert recorder.take() == [("rejected", "unknown")]

        clock.advance(101)  # a cookie kept past its Max-Age, for a session gone since
        site.client.get("/read", cookie_header=f"{name}={value}".encode())
        assert recorder.take() == [("rejected", "expired")]

        site.client.get("/read", cookie_header=b"other=1")  # no session cookie at all: nothing
        assert recorder.take() == []
