"""Flask's session semantics through Flask's test client, on memory:// and a real Redis: permanent
sessions, SESSION_REFRESH_EACH_REQUEST, modified/accessed/new, Flask-Login, blueprints, async views,
key rotation, several apps, and our errors."""

from __future__ import annotations

import time
from typing import Any

import pytest
from flask import Flask, session
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from redis_sessions import SessionIdSigner, SessionTooLarge
from redis_sessions.integrations.flask import RedisSessions, get_store
from tests.conftest import SECRET
from tests.flask_ext.conftest import AppFactory

COOKIE = "session"


def set_cookie(response: TestResponse) -> str | None:
    found = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{COOKIE}=")]
    assert len(found) <= 1
    return found[0] if found else None


def session_id(app: Flask, client: FlaskClient) -> str:
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    found = get_store(app).signer.unsign(cookie.value)
    assert found is not None
    return found


def whoami(client: FlaskClient) -> dict[str, Any]:
    body = client.get("/whoami").get_json()
    assert isinstance(body, dict)
    return body


def round_trips(app: Flask) -> int:
    return get_store(app).round_trips


def test_reading_without_a_cookie_creates_nothing(app: Flask) -> None:
    client = app.test_client()
    before = round_trips(app)
    response = client.get("/read/a")
    assert response.json == {"value": None}
    assert set_cookie(response) is None
    assert round_trips(app) == before
    assert whoami(client)["new"] is True


def test_a_session_that_is_not_permanent_gets_a_browser_session_cookie(app: Flask) -> None:
    client = app.test_client()
    header = set_cookie(client.get("/write/a/1"))
    assert header is not None
    assert "Max-Age" not in header and "Expires" not in header
    assert "HttpOnly" in header and "SameSite=Lax" in header
    # ... and still expires in the store at the configured TTL.
    left = get_store(app).ttl(session_id(app, client))
    assert left is not None and 31 * 24 * 3600 - 5 < left <= 31 * 24 * 3600
    # A read-only request sends no cookie for it, yet is one round trip that slides the expiry.
    before = round_trips(app)
    response = client.get("/read/a")
    assert response.json == {"value": "1"}
    assert set_cookie(response) is None
    assert round_trips(app) - before == 1


def test_a_permanent_session_cookie_lives_as_long_as_the_session(make_app: AppFactory) -> None:
    app = make_app(PERMANENT_SESSION_LIFETIME=600)
    client = app.test_client()
    header = set_cookie(client.get("/permanent/1"))
    assert header is not None and "Max-Age=" in header
    assert 595 <= int(header.split("Max-Age=")[1].split(";")[0]) <= 600
    # SESSION_REFRESH_EACH_REQUEST (default True): re-sent once a quarter of the ttl old (the
    # shared rule), at no extra round trip; a fresh one is not re-sent.
    assert set_cookie(client.get("/noop")) is None
    get_store(app)._core.now_ms = lambda: time.time_ns() // 1_000_000 + 151_000
    before = round_trips(app)
    again = set_cookie(client.get("/noop"))
    assert again is not None and "Max-Age=" in again
    assert round_trips(app) - before == 1


def test_without_refresh_each_request_an_unchanged_session_sends_no_cookie(make_app: AppFactory) -> None:
    app = make_app(SESSION_REFRESH_EACH_REQUEST=False, REDIS_SESSIONS_PERMANENT=True)
    client = app.test_client()
    assert set_cookie(client.get("/write/a/1")) is not None
    assert set_cookie(client.get("/read/a")) is None
    assert set_cookie(client.get("/write/a/2")) is not None


def test_permanent_by_default_stores_no_key(make_app: AppFactory) -> None:
    app = make_app(REDIS_SESSIONS_PERMANENT=True)
    client = app.test_client()
    header = set_cookie(client.get("/write/a/1"))
    assert header is not None and "Max-Age=" in header
    stored = get_store(app).get(session_id(app, client))
    assert stored is not None and dict(stored) == {"a": "1"}
    response = client.get("/permanent/0")
    assert response.json == {"permanent": False}
    header = set_cookie(response)
    assert header is not None and "Max-Age" not in header  # now it ends with the browser


def test_setting_permanent_again_writes_nothing(app: Flask) -> None:
    client = app.test_client()
    client.get("/permanent/1")
    before = round_trips(app)
    client.get("/permanent/1")
    assert round_trips(app) - before == 1  # the load only


def test_modified_after_an_in_place_change_saves_only_the_changed_key(app: Flask) -> None:
    client = app.test_client()
    client.get("/append/cart/apple")
    sid = session_id(app, client)
    # Another request changes a different key meanwhile.
    other = get_store(app).get(sid)
    assert other is not None
    other["note"] = "kept"
    get_store(app).save(other)
    assert client.get("/append/cart/pear").json == {"value": ["apple", "pear"]}
    stored = get_store(app).get(sid)
    assert stored is not None and dict(stored) == {"cart": ["apple", "pear"], "note": "kept"}


def test_vary_cookie_follows_access(backend_url: str, key_prefix: str) -> None:
    app = Flask(__name__)  # no Flask-Login here: its after_request hook reads the session
    app.config.update(SECRET_KEY=SECRET, REDIS_SESSIONS_URL=backend_url, REDIS_SESSIONS_KEY_PREFIX=key_prefix)
    RedisSessions(app)
    app.add_url_rule("/noop", "noop", lambda: "ok")
    app.add_url_rule("/read", "read", lambda: str(session.get("a")))
    app.add_url_rule("/write", "write", lambda: session.update(a=1) or "ok")
    client = app.test_client()
    client.get("/write")
    assert "Cookie" in client.get("/read").headers.get("Vary", "")
    assert "Cookie" not in client.get("/noop").headers.get("Vary", "")
    get_store(app).close()


def test_clearing_deletes_the_session_and_expires_the_cookie(app: Flask) -> None:
    client = app.test_client()
    client.get("/write/a/1")
    sid = session_id(app, client)
    header = set_cookie(client.get("/clear"))
    assert header is not None and header.startswith(f"{COOKIE}=;") and "Max-Age=0" in header
    assert not get_store(app).exists(sid)
    assert client.get_cookie(COOKIE) is None


def test_regenerate_moves_the_data_to_a_fresh_id(app: Flask) -> None:
    client = app.test_client()
    client.get("/write/a/1")
    old = session_id(app, client)
    client.get("/regenerate")
    assert session_id(app, client) != old
    assert not get_store(app).exists(old)
    assert client.get("/read/a").json == {"value": "1"}


def test_flask_login_binds_the_user_with_a_fresh_id_and_logout_unbinds(app: Flask) -> None:
    client = app.test_client()
    client.get("/write/cart/3")
    anonymous = session_id(app, client)
    client.get("/login/alice")
    logged_in = session_id(app, client)
    assert logged_in != anonymous  # session fixation: a fresh id at login
    assert not get_store(app).exists(anonymous)
    assert whoami(client)["user_id"] == "alice"
    assert client.get("/read/cart").json == {"value": "3"}
    assert [s.id for s in get_store(app).sessions_for_user("alice")] == [logged_in]

    client.get("/logout")
    assert whoami(client)["user_id"] is None
    assert get_store(app).sessions_for_user("alice") == []


def test_log_out_everywhere_else(app: Flask) -> None:
    laptop, phone = app.test_client(), app.test_client()
    laptop.get("/login/carol")
    phone.get("/login/carol")
    keep = session_id(app, laptop)
    assert len(get_store(app).sessions_for_user("carol")) == 2
    assert get_store(app).delete_user_sessions("carol", except_id=keep) == 1
    assert whoami(phone)["user_id"] is None
    assert whoami(laptop)["user_id"] == "carol"


def test_blueprints_and_async_views_use_the_same_session(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/shop/add/tea").json == {"cart": ["tea"]}
    assert client.get("/async/write/mood/good").status_code == 200
    assert client.get("/shop/add/milk").json == {"cart": ["tea", "milk"]}
    assert client.get("/read/mood").json == {"value": "good"}


def test_a_cookie_signed_with_a_fallback_key_still_works(make_app: AppFactory) -> None:
    old_app = make_app(SECRET_KEY="old-key")
    client = old_app.test_client()
    client.get("/write/a/1")
    rotated = make_app(SECRET_KEY="new-key", SECRET_KEY_FALLBACKS=["old-key"])
    browser = rotated.test_client()
    browser.set_cookie(COOKIE, client.get_cookie(COOKIE).value)  # type: ignore[union-attr]
    assert browser.get("/read/a").json == {"value": "1"}
    browser.get("/write/b/2")  # a new cookie is signed with the new key
    value = browser.get_cookie(COOKIE).value  # type: ignore[union-attr]
    assert SessionIdSigner(["new-key"]).unsign(value) is not None
    assert SessionIdSigner(["old-key"]).unsign(value) is None


@pytest.mark.parametrize("cookie", ["garbage", "a.b.c", "", "x" * 4000])
def test_a_bad_cookie_is_no_session(app: Flask, cookie: str) -> None:
    client = app.test_client()
    client.set_cookie(COOKIE, cookie)
    response = client.get("/read/a")
    assert response.status_code == 200 and response.json == {"value": None}
    assert set_cookie(response) is None


def test_apps_on_one_store_share_sessions_and_prefixes_separate_them(make_app: AppFactory) -> None:
    first, second = make_app(), make_app()
    client = first.test_client()
    client.get("/write/shared/yes")
    other = second.test_client()
    other.set_cookie(COOKIE, client.get_cookie(COOKIE).value)  # type: ignore[union-attr]
    assert other.get("/read/shared").json == {"value": "yes"}
    apart = make_app(REDIS_SESSIONS_KEY_PREFIX="elsewhere:")
    third = apart.test_client()
    third.set_cookie(COOKIE, client.get_cookie(COOKIE).value)  # type: ignore[union-attr]
    assert third.get("/read/shared").json == {"value": None}


def test_an_oversized_session_raises_our_error_and_stores_nothing(make_app: AppFactory) -> None:
    app = make_app(REDIS_SESSIONS_MAX_SIZE=64, TESTING=True)
    client = app.test_client()
    with pytest.raises(SessionTooLarge):
        client.get("/write/big/" + "x" * 100)
    assert client.get_cookie(COOKIE) is None
    assert get_store(app).count() == 0


def test_the_signed_cookie_is_our_signer(app: Flask) -> None:
    client = app.test_client()
    client.get("/write/a/1")
    assert SessionIdSigner([SECRET]).unsign(client.get_cookie(COOKIE).value) is not None  # type: ignore[union-attr]


def test_the_cookie_is_found_by_its_exact_name_among_others(app: Flask) -> None:
    client = app.test_client()
    client.get("/write/a/1")
    value = client.get_cookie(COOKIE).value  # type: ignore[union-attr]
    bare = app.test_client(use_cookies=False)
    for header, found in [
        (f"theme=dark; session={value}; lang=en", "1"),
        (f"mysession={value}", None),  # another cookie whose name ends like ours
        (f"session_old={value}", None),
        (f"session={value}x", None),
    ]:
        assert bare.get("/read/a", headers={"Cookie": header}).json == {"value": found}, header
