"""Switching engines without logging anyone out: the lazy fallback-engine lookup and the bulk
``redis_sessions_migrate`` command (dry run, validation, rollback), from Django's db engine and
from django-redis-sessions' stored format."""

from __future__ import annotations

import hashlib
import io
from typing import Any

import pytest
import redis
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.models import Session as DbSession
from django.core.management import call_command
from django.test import Client
from django.test.utils import override_settings

from redis_sessions.integrations.django.engine import SessionStore
from tests.django_engine._engine import core
from tests.django_engine.conftest import Settings

DB_ENGINE = "django.contrib.sessions.backends.db"
COOKIE = "sessionid"


def db_client() -> Client:
    """A browser on a site still running Django's db engine."""
    return Client()


def log_in_on_db_engine(username: str) -> Client:
    with override_settings(
        SESSION_ENGINE=DB_ENGINE,
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
        ],
    ):
        browser = db_client()
        browser.get(f"/login/{username}")
        browser.get("/write/cart/7")
        assert browser.get("/whoami").json() == {"user": username}
    return browser


def switched(browser: Client) -> Client:
    """The same browser (its cookies) on the site after the switch (new middleware instances)."""
    after = Client()
    after.cookies = browser.cookies
    return after


def test_an_old_db_session_is_moved_on_first_use_and_served_from_redis(
    engine_settings: Settings, built_stores: object
) -> None:
    browser = log_in_on_db_engine("dora")
    old_key = browser.cookies[COOKIE].value
    with engine_settings(FALLBACK_ENGINE=DB_ENGINE):
        after = switched(browser)
        assert after.get("/whoami").json() == {"user": "dora"}
        new_cookie = after.cookies[COOKIE].value
        assert new_cookie != old_key
        session_id = core().signer.unsign(new_cookie)
        assert session_id is not None
        assert after.get("/read/cart").json() == {"value": 7}
        assert [s.id for s in core().sessions_for_user(str(_pk("dora")))] == [session_id]
        assert DbSession.objects.filter(session_key=old_key).exists()  # nothing deleted


def test_requests_racing_with_the_old_cookie_share_one_moved_session(
    engine_settings: Settings, built_stores: object
) -> None:
    browser = log_in_on_db_engine("eve")
    old_key = browser.cookies[COOKIE].value
    with engine_settings(FALLBACK_ENGINE=DB_ENGINE):
        first, second = SessionStore(old_key), SessionStore(old_key)
        assert first.get("cart") == 7
        assert second.get("cart") == 7
        assert first.session_key == second.session_key
        assert core().count() == 1


def test_without_a_fallback_engine_an_old_cookie_is_no_session(
    configured: None, built_stores: object
) -> None:
    browser = log_in_on_db_engine("fay")
    after = switched(browser)
    assert after.get("/whoami").json() == {"user": None}


class _DjangoRedisSessionsFormat(SessionBase):
    """Encodes as django-redis-sessions' `SessionStore` does: Django's `SessionBase.encode`
    under the salt of a class named ``SessionStore``."""

    @property
    def key_salt(self) -> str:
        return "django.contrib.sessions.SessionStore"


@pytest.fixture
def drs_redis(redis_url: str, key_prefix: str) -> Any:
    client = redis.Redis.from_url(redis_url)
    yield client, key_prefix + "drs"
    client.close()


def test_django_redis_sessions_data_is_read_without_importing_it(
    engine_settings: Settings, built_stores: object, redis_url: str, drs_redis: Any
) -> None:
    client, prefix = drs_redis
    old_key = "a" * 32
    client.set(f"{prefix}:{old_key}", _DjangoRedisSessionsFormat().encode({"cart": 3, "flag": True}))
    with engine_settings(
        FALLBACK_ENGINE="redis_sessions.session", SESSION_REDIS={"url": redis_url, "prefix": prefix}
    ):
        browser = Client()
        browser.cookies[COOKIE] = old_key
        assert browser.get("/read/cart").json() == {"value": 3}
        assert core().signer.unsign(browser.cookies[COOKIE].value) is not None
        assert browser.get("/read/flag").json() == {"value": True}


def test_bulk_migration_dry_run_move_validate_and_rollback(
    engine_settings: Settings, built_stores: object
) -> None:
    DbSession.objects.all().delete()
    browsers = [log_in_on_db_engine(f"bulk{n}") for n in range(3)]
    with engine_settings(FALLBACK_ENGINE=DB_ENGINE):
        report = _command("--dry-run")
        assert "would move" in report and core().count() == 0

        report = _command("--batch-size", "2")
        assert "Validation passed: 3 of 3" in report
        assert core().count() == 3
        assert DbSession.objects.count() == 3  # the old store is left as it was
        after = switched(browsers[0])
        assert after.get("/whoami").json() == {"user": "bulk0"}
        assert core().count() == 3  # served from what the command moved: no second copy

        assert "already moved" in _command() and core().count() == 3

        report = _command("--rollback")
        assert core().count() == 0, report
        assert "removed from Redis" in report


def _command(*args: str) -> str:
    out = io.StringIO()
    call_command("redis_sessions_migrate", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def _pk(username: str) -> int:
    from django.contrib.auth import get_user_model

    return int(get_user_model().objects.get(username=username).pk)


def test_a_gradual_roll_out_moves_only_its_share(engine_settings: Settings, built_stores: object) -> None:
    """MIGRATE_SHARE=30: about 30% of old sessions (by a hash of their key) move on first use; the
    others are served by the old engine, logged in all the same, and stay there."""
    browsers = [log_in_on_db_engine(f"user{n}") for n in range(30)]
    with engine_settings(FALLBACK_ENGINE=DB_ENGINE, MIGRATE_SHARE=30):
        moved = 0
        for n, browser in enumerate(browsers):
            old_key = browser.cookies[COOKIE].value
            after = switched(browser)
            assert after.get("/whoami").json() == {"user": f"user{n}"}  # nobody logged out
            assert after.get("/read/cart").json() == {"value": 7}
            ours = core().signer.unsign(after.cookies[COOKIE].value) is not None
            expected = int(hashlib.sha256(old_key.encode()).hexdigest()[:8], 16) % 100 < 30
            assert ours is expected, n
            moved += ours
            if not ours:
                assert after.cookies[COOKIE].value == old_key  # still the old engine's session
        assert core().count() == moved
        assert 0 < moved < 30  # by chance, none or all: (0.7^30, 0.3^30)
    with (
        engine_settings(FALLBACK_ENGINE=DB_ENGINE, MIGRATE_SHARE=101),
        pytest.raises(Exception, match="0 to 100"),
    ):
        core()
