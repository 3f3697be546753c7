"""The least privilege: every store operation works for a Redis ACL user granted exactly
`redis_sessions._health.acl_rules(prefix)`, and each of those rules is needed. A missing permission
is a configuration error: a `BackendMisconfigured` (a `BackendUnavailable`: 503, never 500) naming
the refused command, and `health()` names every missing rule."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NamedTuple
from urllib.parse import urlsplit

import pytest
import redis

from redis_sessions import SessionConfig, SessionStore
from redis_sessions._health import acl_rules, log_at_startup, required_commands
from redis_sessions.errors import BackendMisconfigured
from tests.contract._stores import AnyStore, StoreFactory, SyncAsAsync, loaded

pytestmark = [pytest.mark.anyio, pytest.mark.parametrize("backend_url", ["redis"], indirect=True)]


class User(NamedTuple):
    name: str
    password: str
    url: str  # logs in as this user


@contextmanager
def acl_user(admin: redis.Redis, redis_url: str, rules: str) -> Iterator[User]:
    """A Redis user with exactly `rules` for the block."""
    name, password = f"acl-{uuid.uuid4().hex[:10]}", uuid.uuid4().hex
    keys = [rule[1:] for rule in rules.split() if rule.startswith("~")]
    channels = [rule[1:] for rule in rules.split() if rule.startswith("&")]
    commands = [rule for rule in rules.split() if not rule.startswith(("~", "&"))]
    admin.acl_setuser(
        name,
        reset=True,
        enabled=True,
        passwords=[f"+{password}"],
        keys=keys,
        channels=channels,
        commands=commands,
    )
    try:
        parts = urlsplit(redis_url)
        yield User(name, password, f"redis://{name}:{password}@{parts.hostname}:{parts.port}{parts.path}")
    finally:
        admin.acl_deluser(name)


def without(rules: str, rule: str) -> str:
    kept = rules.split()
    kept.remove(rule)
    return " ".join(kept)


async def every_operation(store: AnyStore, reader: AnyStore) -> None:
    """Each public store operation once, in the forms that send different commands; `reader` is a
    second store (another process) on the same config, with the active-session gauge on."""
    plain = await store.create({"a": 1})
    bound = await store.create({"cart": []}, user_id="u1")
    own_ttl = await store.create({"b": 2}, ttl=600)  # loaded by script
    assert dict(await loaded(store, plain.id)) == {"a": 1}
    assert dict(await loaded(reader, own_ttl.id)) == {"b": 2}  # its gauge note reads own rules
    bound["cart"] = [1]
    assert await store.save(bound)
    await store.regenerate(bound)
    assert await store.exists(bound.id) and await store.touch(plain.id)
    assert (await store.ttl(plain.id) or 0) > 0
    assert [s.id for s in await store.sessions_for_user("u1")] == [bound.id]
    page = await store.list_sessions(limit=2)
    assert page.sessions
    assert await store.count() == 3 == await store.active_count()
    plain["a"] = 3
    await store.save_many([plain, own_ttl])
    assert await store.delete(plain.id)
    assert await store.delete_user_sessions("u1") == 1
    assert await store.delete_many([own_ttl.id]) == 1
    assert (await store.health()).ok


async def test_every_operation_works_with_exactly_the_documented_acl(
    make_store: StoreFactory, redis_client: redis.Redis, redis_url: str, key_prefix: str
) -> None:
    rules = acl_rules(key_prefix)
    with acl_user(redis_client, redis_url, rules) as user:
        redis_client.script_flush()  # so SCRIPT LOAD is needed, and used
        store = make_store(url=user.url, track_active_sessions=True)
        await every_operation(store, make_store(url=user.url, track_active_sessions=True))
        report = await store.health()
        assert report.ok and report.missing_permissions == ()
        assert report.maxmemory_policy == "noeviction"


def _operations_fail_without(config: SessionConfig, admin: redis.Redis) -> BackendMisconfigured | None:
    """The error `every_operation` meets on a sync store with `config`, if any."""
    import asyncio

    admin.script_flush()
    config = config.replace(track_active_sessions=True)
    with SessionStore(config) as inner, SessionStore(config) as reader:
        try:
            asyncio.run(every_operation(SyncAsAsync(inner), SyncAsAsync(reader)))
        except BackendMisconfigured as exc:
            return exc
    return None


@pytest.mark.parametrize("rule", required_commands())
def test_each_rule_of_the_acl_is_needed(
    rule: str, make_config: Callable[..., SessionConfig], redis_client: redis.Redis, redis_url: str
) -> None:
    config = make_config()
    with acl_user(redis_client, redis_url, without(acl_rules(config.key_prefix), f"+{rule}")) as user:
        error = _operations_fail_without(config.replace(url=user.url), redis_client)
    assert error is not None and error.kind == "NOPERM"


async def test_a_user_without_evalsha_gets_a_configuration_error_naming_it_and_health_says_so(
    make_store: StoreFactory,
    redis_client: redis.Redis,
    redis_url: str,
    key_prefix: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with acl_user(redis_client, redis_url, without(acl_rules(key_prefix), "+evalsha")) as user:
        store = make_store(url=user.url)
        session = await store.create({"a": 1})  # a plain SET: allowed
        assert dict(await loaded(store, session.id)) == {"a": 1}  # GETEX: allowed
        session["a"] = 2
        with pytest.raises(BackendMisconfigured) as refused:  # the save script: refused, a 503
            await store.save(session)
        assert refused.value.kind == "NOPERM" and refused.value.command == "evalsha"
        assert "+evalsha" in str(refused.value)
        report = await store.health()
        assert not report.ok and report.missing_permissions == ("+evalsha",)
        assert "+evalsha" in report.detail
        with caplog.at_level(logging.WARNING, logger="redis_sessions"):
            log_at_startup(report)  # what the integrations' start-up checks log
        (line,) = caplog.records
        assert "+evalsha" in line.getMessage()


async def test_a_user_without_a_command_a_script_calls_is_told_which_script(
    make_store: StoreFactory, redis_client: redis.Redis, redis_url: str, key_prefix: str
) -> None:
    with acl_user(redis_client, redis_url, without(acl_rules(key_prefix), "+pexpire")) as user:
        store = make_store(url=user.url)
        with pytest.raises(BackendMisconfigured) as refused:  # the user index script calls PEXPIRE
            await store.create({"a": 1}, user_id="u1")
        assert refused.value.kind == "NOPERM"
        assert "script" in str(refused.value) and "PEXPIRE" in str(refused.value)
        report = await store.health()
        assert not report.ok and report.missing_permissions == ("+pexpire",)


async def test_a_user_confined_to_other_keys_is_told_to_grant_the_prefix(
    make_store: StoreFactory, redis_client: redis.Redis, redis_url: str, key_prefix: str
) -> None:
    rules = acl_rules(key_prefix).replace(f"~{key_prefix}*", "~elsewhere:*")
    with acl_user(redis_client, redis_url, rules) as user:
        store = make_store(url=user.url)
        with pytest.raises(BackendMisconfigured) as refused:
            await store.create({"a": 1})
        assert refused.value.kind == "NOPERM" and f"~{key_prefix}*" in str(refused.value)
        report = await store.health()
        assert not report.ok and report.missing_permissions == (f"~{key_prefix}*",)


async def test_without_info_health_still_checks_the_rest_and_says_what_it_could_not(
    make_store: StoreFactory, redis_client: redis.Redis, redis_url: str, key_prefix: str
) -> None:
    with acl_user(redis_client, redis_url, without(acl_rules(key_prefix), "+info")) as user:
        store = make_store(url=user.url)
        report = await store.health()
        assert report.ok and not report.degraded and report.missing_permissions == ()
        assert "+info" in report.detail and report.maxmemory_policy is None


async def test_a_wrong_password_is_a_configuration_error(
    make_store: StoreFactory, redis_client: redis.Redis, redis_url: str, key_prefix: str
) -> None:
    with acl_user(redis_client, redis_url, acl_rules(key_prefix)) as user:
        store = make_store(url=user.url.replace(user.password, "wrong-password"))
        with pytest.raises(BackendMisconfigured) as refused:
            await store.create({"a": 1})
        assert refused.value.kind == "auth"
        assert "wrong-password" not in str(refused.value)


async def test_events_need_publish_on_the_prefix_channels(
    make_store: StoreFactory, redis_client: redis.Redis, redis_url: str, key_prefix: str
) -> None:
    rules = acl_rules(key_prefix, events=True)
    assert f"&{key_prefix}*" in rules.split() and "+publish" in rules.split()
    with acl_user(redis_client, redis_url, rules) as user:
        store = make_store(url=user.url, publish_events=True)
        session = await store.create({"a": 1})
        assert await store.delete(session.id)
        assert (await store.health()).ok
    for missing in ("+publish", f"&{key_prefix}*"):
        with acl_user(redis_client, redis_url, without(rules, missing)) as user:
            store = make_store(url=user.url, publish_events=True)
            with pytest.raises(BackendMisconfigured):
                await store.create({"a": 1})
            report = await store.health()
            assert not report.ok and report.missing_permissions == (missing,), report
