"""Django's `SessionBase` contract, on {memory, redis} x {sync, async} methods."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.sessions.backends.base import CreateError, UpdateError
from django.utils import timezone

from tests.django_engine._engine import Engine, core, round_trips
from tests.django_engine.conftest import Settings

pytestmark = pytest.mark.anyio


@pytest.fixture
def engine(kind: str) -> Engine:
    return Engine(kind)


async def saved(kind: str, **data: object) -> Engine:
    engine = Engine(kind)
    for key, value in data.items():
        await engine.set(key, value)
    await engine.save()
    return engine


def raw_id(engine: Engine) -> str:
    session_id = core().signer.unsign(engine.session_key)
    assert session_id is not None
    return session_id


async def test_a_new_session_has_no_key_until_saved(engine: Engine) -> None:
    assert engine.session_key is None
    await engine.set("a", 1)
    assert engine.session_key is None
    await engine.save()
    assert engine.session_key is not None
    assert core().exists(raw_id(engine))
    assert await engine.reopen().get("a") == 1


async def test_the_key_is_the_signed_cookie_value_and_a_raw_id_is_not_accepted(kind: str) -> None:
    engine = await saved(kind, a=1)
    session_id = raw_id(engine)
    assert engine.session_key == core().signer.sign(session_id)
    impostor = Engine(kind, session_id)  # a client can never choose (or replay unsigned) an id
    assert impostor.session_key is None
    assert await impostor.get("a") is None


@pytest.mark.parametrize("cookie", ["garbage-cookie", "", "x" * 500, "é" * 30])
async def test_unknown_or_tampered_keys_are_no_session(kind: str, cookie: str) -> None:
    engine = await saved(kind, a=1)
    assert engine.session_key is not None
    cut = len(engine.session_key) - 10  # a character inside the signature, changed
    flipped = "B" if engine.session_key[cut] == "A" else "A"
    tampered = Engine(kind, engine.session_key[:cut] + flipped + engine.session_key[cut + 1 :])
    assert await tampered.get("a") is None
    other = Engine(kind, cookie)
    assert await other.load() == {}
    assert other.session_key is None


async def test_saving_sends_only_changed_keys(kind: str) -> None:
    engine = await saved(kind, a=1, b=1)
    first, second = engine.reopen(), engine.reopen()
    await first.set("a", 2)
    await second.set("b", 2)
    await first.save()
    await second.save()
    assert sorted(await engine.reopen().items()) == [("a", 2), ("b", 2)]


async def test_a_save_of_an_unchanged_session_costs_no_round_trip(kind: str) -> None:
    engine = (await saved(kind, a=1)).reopen()
    assert await engine.get("a") == 1
    before = round_trips()
    await engine.save()  # what SESSION_SAVE_EVERY_REQUEST does on every request
    assert round_trips() == before


async def test_changing_a_nested_value_in_place_is_saved_when_marked_modified(kind: str) -> None:
    engine = (await saved(kind, cart=["a"], other=1)).reopen()
    (await engine.get("cart")).append("b")
    await engine.set("other", 2)
    engine.django.modified = True
    await engine.save()
    reloaded = engine.reopen()
    assert await reloaded.get("cart") == ["a", "b"]
    assert await reloaded.get("other") == 2


async def test_save_must_create_raises_create_error_for_an_existing_session(kind: str) -> None:
    engine = (await saved(kind, a=1)).reopen()
    with pytest.raises(CreateError):
        await engine.save(must_create=True)


async def test_a_save_never_brings_back_a_session_deleted_meanwhile(kind: str) -> None:
    engine = (await saved(kind, a=1)).reopen()
    await engine.get("a")
    await Engine(kind).delete(engine.session_key)
    await engine.set("a", 2)
    with pytest.raises(UpdateError):
        await engine.save()
    assert not core().exists(raw_id(engine))


async def test_cycle_key_moves_the_data_and_kills_the_old_key(kind: str) -> None:
    engine = (await saved(kind, a=1, _auth_user_id="7")).reopen()
    old_key = engine.session_key
    assert old_key is not None
    await engine.set("b", 2)
    await engine.cycle_key()
    assert engine.session_key not in (None, old_key)
    assert not await engine.exists(old_key)
    assert await engine.exists(engine.session_key or "")
    assert sorted(await engine.reopen().items()) == [("_auth_user_id", "7"), ("a", 1), ("b", 2)]
    assert [s.id for s in core().sessions_for_user("7")] == [raw_id(engine)]


async def test_cycle_key_of_a_session_never_stored_needs_no_round_trip(engine: Engine) -> None:
    await engine.set("a", 1)
    before = round_trips()
    await engine.cycle_key()
    assert round_trips() == before
    assert engine.session_key is not None
    await engine.save()
    assert await engine.reopen().get("a") == 1


async def test_create_stores_an_empty_session_under_a_fresh_key(engine: Engine) -> None:
    await engine.create()
    assert engine.session_key is not None
    assert await engine.exists(engine.session_key)
    assert engine.django.modified is True


async def test_flush_deletes_the_session_and_its_user_entry(kind: str) -> None:
    engine = (await saved(kind, a=1, _auth_user_id="8")).reopen()
    assert [s.id for s in core().sessions_for_user("8")] == [raw_id(engine)]
    old_key = engine.session_key or ""
    await engine.flush()
    assert engine.session_key is None
    assert not await engine.exists(old_key)
    assert core().sessions_for_user("8") == []
    assert await engine.items() == []


async def test_clear_keeps_the_key_and_empties_the_session(kind: str) -> None:
    engine = (await saved(kind, a=1)).reopen()
    engine.django.clear()
    await engine.save()
    assert engine.session_key is not None
    assert await engine.exists(engine.session_key)
    assert await engine.reopen().items() == []


async def test_the_logged_in_user_is_bound_and_unbound(kind: str) -> None:
    engine = await saved(kind, _auth_user_id="42")
    assert [s.id for s in core().sessions_for_user("42")] == [raw_id(engine)]
    reopened = engine.reopen()
    await reopened.load()
    reopened.django.pop("_auth_user_id")
    await reopened.save()
    assert core().sessions_for_user("42") == []


async def test_delete_by_key_and_exists(kind: str) -> None:
    engine = await saved(kind, a=1)
    key = engine.session_key or ""
    assert await Engine(kind).exists(key)
    assert not await Engine(kind).exists("not-a-key")
    await Engine(kind).delete(key)
    assert not await Engine(kind).exists(key)
    engine.django.clear_expired()  # Redis expires sessions itself: nothing to do, no error


async def test_set_expiry_in_seconds_is_the_sessions_own_idle_timeout(kind: str) -> None:
    engine = Engine(kind)
    await engine.set("a", 1)
    await engine.set_expiry(300)
    await engine.save()
    assert await engine.get_expiry_age() == 300
    left = core().ttl(raw_id(engine))
    assert left is not None and 295 < left <= 300
    reopened = engine.reopen()
    assert await reopened.get("a") == 1
    assert await reopened.get_expiry_age() == 300


async def test_set_expiry_later_in_a_sessions_life_changes_its_ttl(kind: str) -> None:
    engine = (await saved(kind, a=1)).reopen()
    await engine.set_expiry(120)
    await engine.save()
    left = core().ttl(raw_id(engine))
    assert left is not None and 115 < left <= 120
    reopened = engine.reopen()
    assert await reopened.get("a") == 1  # loading slides it to its own timeout, not the default
    left = core().ttl(raw_id(engine))
    assert left is not None and 115 < left <= 120
    await reopened.set_expiry(None)
    await reopened.save()
    left = core().ttl(raw_id(engine))
    assert left is not None and left > 120


@pytest.mark.parametrize("delta", [timedelta(minutes=10), "datetime"])
async def test_set_expiry_at_a_date_expires_then_whatever_the_activity(
    kind: str, delta: timedelta | str
) -> None:
    engine = Engine(kind)
    await engine.set("a", 1)
    when = timezone.now() + timedelta(minutes=10)
    await engine.set_expiry(when if delta == "datetime" else delta)
    await engine.save()
    assert 590 <= await engine.get_expiry_age() <= 600
    left = core().ttl(raw_id(engine))
    assert left is not None and 590 < left <= 600


async def test_expiry_zero_is_a_browser_session_that_redis_keeps_for_the_ttl(
    kind: str, engine_settings: Settings
) -> None:
    with engine_settings(TTL=900):
        engine = Engine(kind)
        await engine.set("a", 1)
        await engine.set_expiry(0)
        await engine.save()
        assert engine.django.get_expire_at_browser_close() is True
        left = core().ttl(raw_id(engine))
        assert left is not None and 895 < left <= 900


async def test_the_ttl_falls_back_to_session_cookie_age(kind: str, engine_settings: Settings) -> None:
    with engine_settings(SESSION_COOKIE_AGE=600):
        engine = await saved(kind, a=1)
        assert engine.django.get_session_cookie_age() == 600
        left = core().ttl(raw_id(engine))
        assert left is not None and 595 < left <= 600
    with engine_settings(SESSION_COOKIE_AGE=600, TTL=60):
        assert Engine(kind).django.get_expiry_age() == 60


async def test_expiry_age_never_outlives_the_absolute_ttl(kind: str, engine_settings: Settings) -> None:
    with engine_settings(TTL=600, ABSOLUTE_TTL=100):
        engine = await saved(kind, a=1)
        assert 95 <= await engine.get_expiry_age() <= 100
        left = core().ttl(raw_id(engine))
        assert left is not None and 95 < left <= 100
