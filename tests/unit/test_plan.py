"""The sans-IO plans of `redis_sessions._plan`, driven by hand with canned replies (no server).

A plan yields batches (one round trip each) and receives their replies; these tests check what each
operation sends, in how many round trips, and what it makes of the replies.
"""

from __future__ import annotations

import ast
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import pytest

from redis_sessions import (
    SerializationError,
    Session,
    SessionConfig,
    SessionError,
    SessionPage,
    SessionTooLarge,
)
from redis_sessions import _layout as F
from redis_sessions import _plan as P
from redis_sessions._ids import has_own_expiry, is_valid_id, slot_tag
from redis_sessions._record import pack, unpack

T = TypeVar("T")

NOW = 1_700_000_000_000
CREATED = NOW - 60_000
TTL_MS = 100_000
CONFIG = SessionConfig(secret_keys=["k"], key_prefix="p:", ttl=100, max_size=1000)
SID = "abcdABCD0123456789-_abcdefg"
SID2 = "mnopABCD0123456789-_abcdefg"  # SID < SID2 < SID3: a SCAN step's ids are listed sorted
SID3 = "wxyzABCD0123456789-_abcdefg"
OWN_SID = "7bcd7BCD0123456789-_abcdefg"  # a session with its own ttl or a deadline (see _ids)


def core(**overrides: Any) -> P.Core:
    return P.Core(CONFIG.replace(**overrides), clock=lambda: NOW)


CORE = core()


def key(session_id: str) -> str:
    return CORE.keys.session_key(session_id)


def user_key(user_id: str) -> str:
    return CORE.keys.user_key(user_id)


def first(plan: P.Plan[Any]) -> P.Batch:
    """The plan's first batch."""
    return next(plan)


def step(plan: P.Plan[Any], replies: list[Any]) -> P.Batch:
    """Send replies and expect another batch."""
    return plan.send(replies)


def finish(plan: P.Plan[T], replies: list[Any]) -> T:
    """Send the last replies and return the plan's result (it must not yield again)."""
    try:
        batch = plan.send(replies)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    raise AssertionError(f"the plan sent another batch: {batch!r}")


def without_io(plan: P.Plan[T]) -> T:
    """The result of a plan that must finish without sending anything."""
    try:
        batch = next(plan)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    raise AssertionError(f"the plan sent a batch: {batch!r}")


def stored(
    data: dict[str, Any],
    *,
    user: str | None = None,
    indexed: int | None = CREATED,
    extra: dict[str, Any] | None = None,
) -> bytes:
    """The record of a stored session, as the load script returns it (`indexed=None`: the user
    index entry was never pushed, so it is due)."""
    fields: dict[str, Any] = {F.CREATED: CREATED}
    if user is not None:
        fields[F.USER] = user
        if indexed is not None:
            fields[F.INDEXED] = indexed
    fields.update(extra or {})
    meta = {name: str(value) for name, value in fields.items()}
    return pack(meta, {name: json.dumps(value) for name, value in data.items()})


def peeked(data: dict[str, Any], *, user: str | None = None) -> list[Any]:
    """The replies to a peek's GET and PTTL."""
    return [stored(data, user=user), TTL_MS]


def peeked_keys(batch: P.Batch) -> list[str]:
    """The session keys a peek batch reads, checking it is GET + PTTL for each."""
    assert all(isinstance(c, P.Command) for c in batch)
    names = [c.args[0] for c in batch if isinstance(c, P.Command)]
    assert names == ["GET", "PTTL"] * (len(batch) // 2)
    return [c.args[1] for c in batch[::2] if isinstance(c, P.Command)]


def loaded(data: dict[str, Any], *, user: str | None = None, session_id: str = SID) -> Session:
    """A session as `load` makes it from a canned reply."""
    plan = P.load(CORE, session_id)
    first(plan)
    session = finish(plan, [stored(data, user=user)])
    assert session is not None
    return session


def only_script(batch: P.Batch, name: str) -> P.Script:
    assert len(batch) == 1, batch
    call = batch[0]
    assert isinstance(call, P.Script)
    assert call.name == name
    return call


def save_args(call: P.Script) -> tuple[dict[str, Any], list[str]]:
    """(fields set, fields deleted) of a `save` script call."""
    args = call.args
    assert args[0] == NOW
    assert args[1] == TTL_MS
    assert args[2] == 0  # absolute_ttl_ms: none
    assert args[3] == 1000  # max_size
    assert args[4] == 0  # drop_if_empty: only the request policy asks for it
    n_set = args[5]
    pairs = args[6 : 6 + 2 * n_set]
    to_set = {pairs[i]: pairs[i + 1] for i in range(0, len(pairs), 2)}
    return to_set, list(args[6 + 2 * n_set :])


# -- the module itself -------------------------------------------------------------------------------


def test_plan_module_does_no_io() -> None:
    source = Path(P.__file__).read_text(encoding="utf-8")
    imported: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module.split(".")[0])
    assert not imported & {"redis", "asyncio", "anyio", "socket", "threading", "trio"}


# -- load, touch ------------------------------------------------------------------------------------


def getex(session_id: str) -> P.Command:
    return P.Command(("GETEX", key(session_id), "PX", TTL_MS))


def test_load_is_one_getex_for_a_session_on_the_configured_ttl() -> None:
    plan = P.load(CORE, SID)
    assert first(plan) == [getex(SID)]

    session = finish(plan, [stored({"x": 1, "name": "ann"})])
    assert session is not None
    assert session.id == SID
    assert dict(session) == {"x": 1, "name": "ann"}
    assert session.user_id is None
    assert session.created_at == datetime.fromtimestamp(CREATED / 1000, tz=timezone.utc)
    assert session.expires_at == datetime.fromtimestamp((NOW + TTL_MS) / 1000, tz=timezone.utc)
    assert session.is_new is False
    assert session.modified is False


def test_load_of_a_session_with_own_expiry_rules_is_one_load_script() -> None:
    plan = P.load(CORE, OWN_SID)
    call = only_script(first(plan), "load")
    assert call.keys == (key(OWN_SID),)
    assert call.args == (NOW, TTL_MS, 0)
    session = finish(plan, [stored({"x": 1}, extra={F.TTL: 20_000})])
    assert session is not None
    assert session.expires_at == datetime.fromtimestamp((NOW + 20_000) / 1000, tz=timezone.utc)


def test_new_sessions_are_marked_by_how_they_expire() -> None:
    assert not has_own_expiry(CORE.new_session({}, None, None).id)
    assert has_own_expiry(CORE.new_session({}, None, 20).id)
    assert has_own_expiry(core(absolute_ttl=300).new_session({}, None, None).id)


def test_load_of_a_missing_session() -> None:
    plan = P.load(CORE, SID)
    assert first(plan) == [getex(SID)]
    assert finish(plan, [None]) is None


@pytest.mark.parametrize("bad", ["", "short", SID + "x", SID[:-1] + ".", "é" * 26])
def test_load_of_a_non_id_sends_nothing(bad: str) -> None:
    assert without_io(P.load(CORE, bad)) is None


def test_load_pushes_the_user_index_when_due() -> None:
    plan = P.load(CORE, SID)
    first(plan)
    index, barrier, mark = step(plan, [stored({"x": 1}, user="u1", indexed=None)])
    # The entry first; only then does the record note the push (the save script: never bringing
    # back a gone session), so a push that fails is tried again at the next load.
    assert index == P.Script("index_add", (user_key("u1"),), (NOW, NOW + 2 * TTL_MS, SID))
    assert barrier is P.BARRIER
    assert mark == P.Script("save", (key(SID),), (NOW, TTL_MS, 0, 1000, 0, 1, F.META + F.INDEXED, NOW))
    session = finish(plan, [1, None, NOW + TTL_MS])
    assert session is not None
    assert session.user_id == "u1"


def test_load_script_path_pushes_the_index_the_same_way() -> None:
    plan = P.load(CORE, OWN_SID)
    first(plan)
    batch = step(plan, [stored({"x": 1}, user="u1", indexed=None)])
    call, barrier, mark = batch
    assert isinstance(call, P.Script)
    assert call.name == "index_add"
    assert call.keys == (user_key("u1"),)
    assert barrier is P.BARRIER
    assert isinstance(mark, P.Script)
    assert mark.name == "save"
    session = finish(plan, [1, None, NOW + TTL_MS])
    assert session is not None
    assert session.user_id == "u1"


def test_load_does_not_push_the_index_when_not_due() -> None:
    plan = P.load(CORE, SID)
    first(plan)
    session = finish(plan, [stored({"x": 1}, user="u1")])
    assert session is not None
    assert session.user_id == "u1"


def test_load_of_a_corrupt_value_raises_serialization_error_when_read() -> None:
    plan = P.load(CORE, SID)
    first(plan)
    record = pack({F.CREATED: str(CREATED)}, {"ok": "1", "bad": "{not json"})
    session = finish(plan, [record])
    assert session is not None
    assert session["ok"] == 1
    with pytest.raises(SerializationError):
        session["bad"]


def test_touch_is_one_batch_and_loads_no_data() -> None:
    plan = P.touch(CORE, SID)
    assert first(plan) == [getex(SID)]
    assert finish(plan, [stored({"x": 1})]) is True


def test_touch_of_a_missing_session() -> None:
    plan = P.touch(CORE, SID)
    first(plan)
    assert finish(plan, [None]) is False
    assert without_io(P.touch(CORE, "nope")) is False


# -- create -----------------------------------------------------------------------------------------


def created(call: P.Call) -> tuple[int, dict[str, bytes]]:
    """(ttl in ms, record fields by change name: F.META + name, F.DATA + key) of a create:
    SET key record PX ttl NX."""
    assert isinstance(call, P.Command)
    name, _, record, px, ttl_ms, nx = call.args
    assert (name, px, nx) == ("SET", "PX", "NX")
    meta, data = unpack(record)
    fields = {F.META + name: value.encode() for name, value in meta.items()}
    return ttl_ms, fields | {F.DATA + key: value.encode() for key, value in data.items()}


def test_create_is_one_batch_of_one_set_that_never_overwrites() -> None:
    session = CORE.new_session({"a": 1}, None, None)
    assert session.is_new
    plan = P.save(CORE, session)
    (call,) = first(plan)
    assert isinstance(call, P.Command) and call.args[1] == key(session.id)
    ttl_ms, fields = created(call)
    assert ttl_ms == TTL_MS
    assert fields[F.DATA + "a"] == b"1"
    assert fields[F.META + F.CREATED] == str(NOW).encode()
    assert F.META + F.USER not in fields
    assert finish(plan, [True]) is True
    assert session.is_new is False
    assert session.modified is False


def test_create_with_user_and_own_ttl() -> None:
    session = CORE.new_session({}, "u1", 20)
    plan = P.save(CORE, session)
    batch = first(plan)
    # With the create, no barrier: the id is given out only once both are stored.
    index, create = batch
    ttl_ms, fields = created(create)
    assert ttl_ms == 20_000
    assert fields[F.META + F.USER] == b"u1"
    assert fields[F.META + F.TTL] == b"20000"
    assert isinstance(index, P.Script)
    assert index.keys == (user_key("u1"),)
    assert index.args == (NOW, NOW + 40_000, session.id)
    assert finish(plan, [1, True]) is True


def test_create_with_absolute_ttl_caps_the_first_expiry() -> None:
    capped = core(ttl=100, absolute_ttl=30)
    session = capped.new_session({}, None, None)
    assert session.expires_at == datetime.fromtimestamp((NOW + 30_000) / 1000, tz=timezone.utc)
    plan = P.save(capped, session)
    (call,) = first(plan)
    ttl_ms, fields = created(call)
    assert ttl_ms == 30_000
    assert fields[F.META + F.DEADLINE] == str(NOW + 30_000).encode()


def test_create_collision_raises_session_error() -> None:
    plan = P.save(CORE, CORE.new_session({"a": 1}, None, None))
    first(plan)
    with pytest.raises(SessionError):
        plan.send([None])  # SET ... NX found the id taken


def test_create_too_large_raises_before_any_batch() -> None:
    session = CORE.new_session({"blob": "x" * 2000}, None, None)
    with pytest.raises(SessionTooLarge) as caught:
        first(P.save(CORE, session))
    assert caught.value.max_size == 1000
    assert caught.value.size > 1000


def test_create_unserializable_raises_before_any_batch() -> None:
    session = CORE.new_session({"bad": object()}, None, None)
    with pytest.raises(SerializationError):
        first(P.save(CORE, session))


@pytest.mark.parametrize("ttl", [0, -1, True, 1.5])
def test_new_session_rejects_a_bad_ttl(ttl: Any) -> None:
    with pytest.raises(ValueError):
        CORE.new_session({}, None, ttl)


# -- save -------------------------------------------------------------------------------------------


def test_save_of_a_modified_session_is_one_batch_of_changes_only() -> None:
    session = loaded({"a": 1, "b": 2, "c": 3})
    session["a"] = 10
    session["d"] = "new"
    del session["b"]
    plan = P.save(CORE, session)
    call = only_script(first(plan), "save")
    assert call.keys == (key(SID),)
    to_set, to_delete = save_args(call)
    assert to_set == {F.DATA + "a": b"10", F.DATA + "d": b'"new"'}
    assert to_delete == [F.DATA + "b"]

    assert finish(plan, [NOW + TTL_MS]) is True
    assert session.modified is False
    assert session.expires_at == datetime.fromtimestamp((NOW + TTL_MS) / 1000, tz=timezone.utc)


def test_save_of_an_unmodified_session_sends_no_fields() -> None:
    session = loaded({"a": 1})
    plan = P.save(CORE, session)
    to_set, to_delete = save_args(only_script(first(plan), "save"))
    assert to_set == {}
    assert to_delete == []
    assert finish(plan, [NOW + TTL_MS]) is True


def test_save_with_modified_true_writes_the_values_changed_in_place() -> None:
    session = loaded({"a": [1], "b": 2, "c": [3]})
    session["a"].append(2)
    assert session["c"] == [3]  # read, unchanged: not written
    session.modified = True
    plan = P.save(CORE, session)
    to_set, _ = save_args(only_script(first(plan), "save"))
    assert to_set == {F.DATA + "a": b"[1,2]"}


def test_save_of_a_gone_session_reports_false_and_keeps_the_changes() -> None:
    session = loaded({"a": 1})
    session["a"] = 2
    plan = P.save(CORE, session)
    first(plan)
    assert finish(plan, [0]) is False
    assert session.modified is True
    assert session.id == SID


def test_save_binding_a_user_adds_the_index_entry() -> None:
    session = loaded({"a": 1})
    session.user_id = "u1"
    plan = P.save(CORE, session)
    batch = first(plan)
    index, barrier, save_call = batch  # indexed before the binding is stored
    assert barrier is P.BARRIER
    assert isinstance(save_call, P.Script)
    assert save_call.name == "save"
    to_set, _ = save_args(save_call)
    assert to_set[F.META + F.USER] == "u1"
    assert isinstance(index, P.Script)
    assert index.name == "index_add"
    assert index.keys == (user_key("u1"),)
    assert finish(plan, [1, None, NOW + TTL_MS]) is True


def test_save_rebinding_moves_the_index_entry() -> None:
    session = loaded({"a": 1}, user="u1")
    session.user_id = "u2"
    plan = P.save(CORE, session)
    batch = first(plan)
    assert [type(c) for c in batch] == [P.Script, P.Barrier, P.Script]
    index = [c for c in batch if isinstance(c, P.Script) and c.name == "index_add"]
    assert len(index) == 1
    assert index[0].keys == (user_key("u2"),)
    # The old entry goes only once the save is known to have been stored.
    assert step(plan, [1, None, NOW + TTL_MS]) == [P.Command(("ZREM", user_key("u1"), SID))]
    assert finish(plan, [1]) is True


def test_a_refused_save_keeps_the_old_index_entry() -> None:
    session = loaded({"a": 1}, user="u1")
    session.user_id = "u2"
    plan = P.save(CORE, session)
    first(plan)
    with pytest.raises(SessionTooLarge):
        step(plan, [1, None, [-3, 5000]])  # the merged record was over max_size: nothing stored


def test_save_unbinding_removes_the_user_fields() -> None:
    session = loaded({"a": 1}, user="u1")
    session.user_id = None
    plan = P.save(CORE, session)
    (save_call,) = first(plan)
    assert isinstance(save_call, P.Script)
    _, to_delete = save_args(save_call)
    assert F.META + F.USER in to_delete
    assert step(plan, [NOW + TTL_MS]) == [P.Command(("ZREM", user_key("u1"), SID))]
    assert finish(plan, [1]) is True


def test_save_too_large_counts_unchanged_keys_and_sends_nothing() -> None:
    session = loaded({"a": "x" * 600})
    session["b"] = "y" * 600
    with pytest.raises(SessionTooLarge):
        first(P.save(CORE, session))


def test_save_unserializable_sends_nothing() -> None:
    session = loaded({"a": 1})
    session["ok"] = 2
    session["bad"] = {1, 2}
    with pytest.raises(SerializationError):
        first(P.save(CORE, session))


# -- regenerate -------------------------------------------------------------------------------------


def test_regenerate_is_one_save_batch_moving_to_a_key_in_the_same_slot() -> None:
    session = loaded({"a": 1}, user="u1")
    session["b"] = 2
    plan = P.regenerate(CORE, session)
    index, save_call = first(plan)  # one wave: the new id is given out only once both succeed
    assert isinstance(save_call, P.Script)
    assert save_call.name == "save"
    old_key, new_key = save_call.keys
    assert old_key == key(SID)
    assert new_key != old_key
    assert new_key.startswith("p:{" + slot_tag(SID) + "}")
    assert isinstance(index, P.Script)
    assert index.name == "index_add"
    new_id = index.args[-1]
    assert key(new_id) == new_key
    assert step(plan, [1, NOW + TTL_MS]) == [P.Command(("ZREM", user_key("u1"), SID))]
    assert finish(plan, [1]) is session
    assert session.id == new_id
    assert is_valid_id(session.id)
    assert session.modified is False


def test_regenerate_of_a_gone_session_raises_and_keeps_the_id() -> None:
    session = loaded({"a": 1})
    plan = P.regenerate(CORE, session)
    first(plan)
    with pytest.raises(SessionError):
        plan.send([0])
    assert session.id == SID


def test_regenerate_collision_raises() -> None:
    session = loaded({"a": 1})
    plan = P.regenerate(CORE, session)
    first(plan)
    with pytest.raises(SessionError):
        plan.send([-1])
    assert session.id == SID


# -- delete, exists, ttl ----------------------------------------------------------------------------


def test_delete_is_one_del() -> None:
    plan = P.delete(CORE, SID)
    assert first(plan) == [P.Command(("DEL", key(SID)))]
    assert finish(plan, [1]) is True
    plan = P.delete(CORE, SID)
    first(plan)
    assert finish(plan, [0]) is False
    assert without_io(P.delete(CORE, "nope")) is False


def test_exists_and_ttl() -> None:
    plan = P.exists(CORE, SID)
    assert first(plan) == [P.Command(("EXISTS", key(SID)))]
    assert finish(plan, [1]) is True

    plan_ttl = P.ttl(CORE, SID)
    assert first(plan_ttl) == [P.Command(("PTTL", key(SID)))]
    assert finish(plan_ttl, [1500]) == 1.5
    plan_ttl = P.ttl(CORE, SID)
    first(plan_ttl)
    assert finish(plan_ttl, [-2]) is None
    assert without_io(P.ttl(CORE, "nope")) is None
    assert without_io(P.exists(CORE, "nope")) is False


# -- users ------------------------------------------------------------------------------------------


def test_sessions_for_user_peeks_and_prunes_stale_entries() -> None:
    plan = P.sessions_for_user(CORE, "u1")
    assert first(plan) == [P.Command(("ZRANGEBYSCORE", user_key("u1"), NOW, "+inf"))]
    peeks = step(plan, [[SID.encode(), SID2.encode(), SID3.encode()]])
    assert peeked_keys(peeks) == [key(SID), key(SID2), key(SID3)]

    live = peeked({"n": 1}, user="u1")
    rebound = peeked({"n": 3}, user="u2")
    prune = step(plan, [*live, None, -2, *rebound])
    assert prune == [P.Command(("ZREM", user_key("u1"), SID2, SID3))]
    sessions = finish(plan, [2])
    assert [s.id for s in sessions] == [SID]


def test_sessions_for_user_with_an_empty_index() -> None:
    plan = P.sessions_for_user(CORE, "u1")
    first(plan)
    assert finish(plan, [[]]) == []


def test_delete_user_sessions_spares_except_id() -> None:
    plan = P.delete_user_sessions(CORE, "u1", SID)
    assert first(plan) == [P.Command(("ZRANGE", user_key("u1"), 0, -1))]
    batch = step(plan, [[SID.encode(), SID2.encode(), SID3.encode()]])
    deleted_keys = {k for c in batch if isinstance(c, P.Script) for k in c.keys}
    assert deleted_keys == {key(SID2), key(SID3)}
    # The entries go once the deletes have answered.
    (zrem,) = step(plan, [1, 0])
    assert isinstance(zrem, P.Command)
    assert zrem.args[:2] == ("ZREM", user_key("u1"))
    assert set(zrem.args[2:]) == {SID2, SID3}
    assert SID not in zrem.args
    assert finish(plan, [2]) == 1


# -- listing ----------------------------------------------------------------------------------------


def scan_reply(cursor: bytes, *session_ids: str, noise: tuple[str, ...] = ()) -> list[Any]:
    return [cursor, [key(i).encode() for i in session_ids] + [n.encode() for n in noise]]


def peek_replies(batch: P.Batch) -> list[Any]:
    return [reply for _ in peeked_keys(batch) for reply in peeked({"n": 1})]


def scan_call(cursor: str, count: int, node: str = "") -> P.Command:
    return P.Command(("SCAN", cursor, "MATCH", CORE.keys.scan_pattern, "COUNT", count), node)


def begin(plan: P.Plan[Any], primaries: tuple[str, ...] = ("",)) -> P.Batch:
    """The first batch a walk sends once the driver named the primaries (one Redis: "")."""
    assert first(plan) == [P.Primaries()]
    return step(plan, [list(primaries)])


def test_list_sessions_carries_the_rest_of_a_scan_step_in_the_cursor() -> None:
    plan = P.list_sessions(CORE, 2, None)
    assert begin(plan) == [scan_call("0", 10)]
    peeks = step(plan, [scan_reply(b"0", SID3, SID, SID2, noise=("p:user:u1",))])  # SCAN's order
    assert peeked_keys(peeks) == [key(SID), key(SID2)]
    page = finish(plan, peek_replies(peeks))
    assert isinstance(page, SessionPage)
    assert [s.id for s in page.sessions] == [SID, SID2]
    assert page.next_cursor == f"0:{SID3}!"  # the walk is over but for SID3

    rest = P.list_sessions(CORE, 2, page.next_cursor)
    assert begin(rest) == [P.Command(("GET", key(SID3))), P.Command(("PTTL", key(SID3)))]
    last = finish(rest, peeked({"n": 1}))
    assert [s.id for s in last.sessions] == [SID3]
    assert last.next_cursor is None


def test_list_sessions_never_sends_a_scan_step_twice() -> None:
    plan = P.list_sessions(CORE, 2, None)
    begin(plan)
    peeks = step(plan, [scan_reply(b"7", SID3, SID, SID2)])
    page = finish(plan, peek_replies(peeks))
    assert page.next_cursor == f"7:{SID3}"

    rest = P.list_sessions(CORE, 2, page.next_cursor)
    assert begin(rest) == [scan_call("7", 10)]  # SID3 and one more: the next step, never step 0 again


def test_list_sessions_goes_on_after_a_page_the_carried_ids_fill_exactly() -> None:
    plan = P.list_sessions(CORE, 1, None)
    begin(plan)
    page = finish(plan, peek_replies(step(plan, [scan_reply(b"7", SID2, SID)])))
    assert [s.id for s in page.sessions] == [SID] and page.next_cursor == f"7:{SID2}"

    second = P.list_sessions(CORE, 1, page.next_cursor)
    begin(second)
    page = finish(second, peeked({"n": 1}))
    assert [s.id for s in page.sessions] == [SID2]
    assert page.next_cursor == "7:"  # not the end: SCAN step 7 is still to come

    third = P.list_sessions(CORE, 1, page.next_cursor)
    assert begin(third) == [scan_call("7", 10)]


def test_list_sessions_follows_scan_steps_until_the_page_is_full() -> None:
    plan = P.list_sessions(CORE, 2, None)
    begin(plan)
    assert step(plan, [scan_reply(b"7", noise=("p:user:u1",))]) == [scan_call("7", 10)]
    assert step(plan, [scan_reply(b"9", SID)]) == [scan_call("9", 10)]
    peeks = step(plan, [scan_reply(b"12", SID2)])
    page = finish(plan, peek_replies(peeks))
    assert [s.id for s in page.sessions] == [SID, SID2]
    assert page.next_cursor is not None

    rest = P.list_sessions(CORE, 2, page.next_cursor)
    assert begin(rest) == [scan_call("12", 10)]


def test_list_sessions_drops_sessions_gone_before_the_peek() -> None:
    plan = P.list_sessions(CORE, 10, None)
    begin(plan)
    peeks = step(plan, [scan_reply(b"0", SID, SID2)])
    page = finish(plan, [None, -2, *peeked({})])
    assert [s.id for s in page.sessions] == [SID2]
    assert page.next_cursor is None
    assert len(peeks) == 4


def test_list_sessions_on_nothing() -> None:
    plan = P.list_sessions(CORE, 10, None)
    begin(plan)
    page = finish(plan, [scan_reply(b"0")])
    assert page == SessionPage([], None)


@pytest.mark.parametrize("cursor", ["", "garbage", "12:x", ":"])
def test_list_sessions_rejects_a_foreign_cursor(cursor: str) -> None:
    with pytest.raises(ValueError):
        first(P.list_sessions(CORE, 10, cursor))


def test_list_sessions_rejects_a_limit_below_one() -> None:
    with pytest.raises(ValueError):
        first(P.list_sessions(CORE, 0, None))


def test_count_scans_until_cursor_zero_counting_only_sessions() -> None:
    plan = P.count(CORE)
    assert begin(plan) == [scan_call("0", 1000)]
    (call,) = step(plan, [scan_reply(b"5", SID, noise=("p:user:u1",))])
    assert isinstance(call, P.Command)
    assert call.args[0] == "SCAN"
    assert call.args[1] in ("5", b"5", 5)  # the cursor the last step returned
    assert finish(plan, [scan_reply(b"0", SID2, SID3)]) == 3


# -- health, gather ---------------------------------------------------------------------------------


def test_gather_merges_first_batches_into_one() -> None:
    plan = P.gather([P.load(CORE, SID), P.load(CORE, "not-an-id"), P.load(CORE, SID2)])
    batch = first(plan)
    assert batch == [getex(SID), getex(SID2)]
    results = finish(plan, [stored({"n": 1}), None])
    assert results[1] is None
    assert results[2] is None
    assert results[0] is not None
    assert dict(results[0]) == {"n": 1}


def test_gather_keeps_plans_in_lockstep() -> None:
    plan = P.gather([P.load(CORE, SID), P.load(CORE, SID2)])
    assert len(first(plan)) == 2
    second = step(
        plan,
        [stored({}, user="u1", indexed=None), stored({}, user="u2")],
    )
    # only the first needs its index pushed: index_add, then the save script records it
    assert [c.name for c in second if isinstance(c, P.Script)] == ["index_add", "save"]
    assert second[0].keys == (user_key("u1"),)  # type: ignore[union-attr]
    results = finish(plan, [1, None, NOW + TTL_MS])
    assert [s.id for s in results if s is not None] == [SID, SID2]


def test_gather_of_saves_is_one_batch() -> None:
    sessions = [loaded({"n": n}, session_id=i) for n, i in enumerate((SID, SID2, SID3))]
    for session in sessions:
        session["n"] = 9
    plan = P.gather(P.save(CORE, s) for s in sessions)
    batch = first(plan)
    assert [c.name for c in batch if isinstance(c, P.Script)] == ["save"] * 3
    assert finish(plan, [NOW + TTL_MS, 0, NOW + TTL_MS]) == [True, False, True]
    assert [s.modified for s in sessions] == [False, True, False]


def test_gather_of_nothing_sends_nothing() -> None:
    assert without_io(P.gather([])) == []


def test_list_sessions_walks_one_primary_after_another_naming_those_done() -> None:
    plan = P.list_sessions(CORE, 2, None)
    assert begin(plan, ("a:1", "b:2")) == [scan_call("0", 10, "a:1")]
    assert step(plan, [scan_reply(b"0", SID)]) == [scan_call("0", 10, "b:2")]
    peeks = step(plan, [scan_reply(b"4", SID2)])
    page = finish(plan, peek_replies(peeks))
    assert [s.id for s in page.sessions] == [SID, SID2]
    assert page.next_cursor == "4:@b:2!a:1"

    rest = P.list_sessions(CORE, 2, page.next_cursor)
    assert begin(rest, ("a:1", "b:2")) == [scan_call("4", 10, "b:2")]
    peeks = step(rest, [scan_reply(b"0", SID3)])
    last = finish(rest, peek_replies(peeks))
    assert [s.id for s in last.sessions] == [SID3]
    assert last.next_cursor is None


def test_list_sessions_starts_a_replaced_primary_over() -> None:
    rest = P.list_sessions(CORE, 2, "4:@gone:1!a:1")
    assert begin(rest, ("a:1", "c:3")) == [scan_call("0", 10, "c:3")]


def test_count_scans_every_primary_at_once() -> None:
    plan = P.count(CORE)
    assert begin(plan, ("a:1", "b:2")) == [scan_call("0", 1000, "a:1"), scan_call("0", 1000, "b:2")]
    more = step(plan, [scan_reply(b"0", SID), scan_reply(b"3", SID2)])
    assert more == [scan_call(b"3", 1000, "b:2")]  # type: ignore[arg-type]
    assert finish(plan, [scan_reply(b"0", SID3)]) == 3
