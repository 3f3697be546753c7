"""SessionStore and AsyncSessionStore: the same public methods with the same signatures."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from redis_sessions import AsyncSessionStore, SessionStore

# The context-manager protocols differ by design: `with` for one, `async with` for the other.
CONTEXT = {"__enter__", "__exit__", "__aenter__", "__aexit__"}
# Not a coroutine on either store: it returns a subscription, used with `with` / `async with`.
SUBSCRIPTIONS = {"events"}


def public_methods(cls: type) -> dict[str, Callable[..., Any]]:
    return {name: member for name, member in inspect.getmembers(cls, callable) if not name.startswith("_")}


def test_same_public_method_names() -> None:
    sync_names = set(public_methods(SessionStore))
    async_names = set(public_methods(AsyncSessionStore))
    assert sync_names == async_names
    expected = {
        "create",
        "get",
        "save",
        "delete",
        "exists",
        "touch",
        "ttl",
        "regenerate",
        "sessions_for_user",
        "delete_user_sessions",
        "list_sessions",
        "count",
        "save_many",
        "delete_many",
        "health",
        "close",
    }
    assert expected <= sync_names


def test_same_signatures_ignoring_async() -> None:
    sync_methods = public_methods(SessionStore)
    async_methods = public_methods(AsyncSessionStore)
    for name, sync_method in sync_methods.items():
        sync_sig = inspect.signature(sync_method)
        async_sig = inspect.signature(async_methods[name])
        if name in SUBSCRIPTIONS:  # EventSubscription / AsyncEventSubscription
            assert sync_sig.parameters == async_sig.parameters, name
            assert f"Async{sync_sig.return_annotation}" == async_sig.return_annotation, name
            continue
        assert sync_sig == async_sig, f"{name}: {sync_sig} != {async_sig}"


def test_async_methods_are_coroutines_and_sync_ones_are_not() -> None:
    sync_methods = public_methods(SessionStore)
    async_methods = public_methods(AsyncSessionStore)
    own = [name for name in sync_methods if sync_methods[name] is not async_methods[name]]
    # Methods shared from one base class do no I/O (new_session, now_ms); the rest are twins.
    assert "get" in own
    assert "save" in own
    for name in set(own) - SUBSCRIPTIONS:
        assert inspect.iscoroutinefunction(async_methods[name]), name
        assert not inspect.iscoroutinefunction(sync_methods[name]), name


def test_same_constructor_and_public_properties() -> None:
    assert inspect.signature(SessionStore) == inspect.signature(AsyncSessionStore)
    sync_props = {n for n, m in inspect.getmembers(SessionStore) if isinstance(m, property)}
    async_props = {n for n, m in inspect.getmembers(AsyncSessionStore) if isinstance(m, property)}
    assert sync_props == async_props


def test_context_managers() -> None:
    assert {"__enter__", "__exit__"} <= set(dir(SessionStore))
    assert {"__aenter__", "__aexit__"} <= set(dir(AsyncSessionStore))
    assert inspect.iscoroutinefunction(AsyncSessionStore.__aenter__)
    assert inspect.iscoroutinefunction(AsyncSessionStore.__aexit__)
    assert CONTEXT & set(public_methods(SessionStore)) == set()
