"""The Django engine as the contract tests drive it: one test, run through the sync methods
(``save``, ``cycle_key``...) or their async twins (``asave``, ``acycle_key``...)."""

from __future__ import annotations

from typing import Any

from redis_sessions import SessionStore as CoreStore
from redis_sessions.integrations.django import SessionStore, get_async_store, get_store


class Engine:
    """A Django `SessionStore` with awaitable methods: the sync ones called directly, or the
    async ones awaited, depending on `kind`."""

    def __init__(self, kind: str, session_key: str | None = None) -> None:
        self.kind = kind
        self.django = SessionStore(session_key)

    async def _call(self, name: str, *args: Any) -> Any:
        if self.kind == "async":
            return await getattr(self.django, f"a{name}")(*args)
        return getattr(self.django, name)(*args)

    async def get(self, key: str, default: Any = None) -> Any:
        return await self._call("get", key, default)

    async def set(self, key: str, value: Any) -> None:
        if self.kind == "async":
            await self.django.aset(key, value)
        else:
            self.django[key] = value

    async def save(self, must_create: bool = False) -> None:
        await self._call("save", must_create)

    async def load(self) -> Any:
        return await self._call("load")

    async def create(self) -> None:
        await self._call("create")

    async def exists(self, key: str) -> bool:
        return bool(await self._call("exists", key))

    async def delete(self, key: str | None = None) -> None:
        await self._call("delete", key)

    async def flush(self) -> None:
        await self._call("flush")

    async def cycle_key(self) -> None:
        await self._call("cycle_key")

    async def set_expiry(self, value: Any) -> None:
        await self._call("set_expiry", value)

    async def get_expiry_age(self) -> int:
        return int(await self._call("get_expiry_age"))

    async def items(self) -> list[tuple[str, Any]]:
        return list(await self._call("items"))

    @property
    def session_key(self) -> str | None:
        return self.django.session_key

    def reopen(self) -> Engine:
        """The same session as the next request sees it: a new instance on the same key."""
        return Engine(self.kind, self.django.session_key)


def core() -> CoreStore:
    return get_store()


def round_trips() -> int:
    return get_store().round_trips + get_async_store().round_trips
