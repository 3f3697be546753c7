"""Driver bugs the HTTP fault scenarios found, in their smallest form (the sans-IO router, canned
replies, no server).

- Loaded-scripts race (500s in `test_cluster_primary_killed_under_load`): the drivers share one
  "scripts loaded per server" map between concurrent batches (async tasks on one loop, or threads)
  and clear it when any batch loses its connection; a batch that had sent ``SCRIPT LOAD`` before
  that clear failed on its own reply with ``KeyError`` in ``_route._run_wave`` (an unhandled 500).
- WAIT of a server that ran nothing (503s in `test_cluster_failover_under_load` with replica acks):
  after ``CLUSTER FAILOVER`` a durable write sent to the old primary comes back MOVED, with its
  ``WAIT`` refused ("WAIT cannot be used with replica instances"); it is sent again to the new
  primary, runs and is confirmed there, yet that first WAIT error fails the batch: a 503 for a write
  that was stored and confirmed (after a regenerate, the browser never learns the new id).
"""

from __future__ import annotations

from typing import Any, cast

from redis.exceptions import MovedError, ResponseError

from redis_sessions import _scripts
from redis_sessions._drivers._route import Refresh, Route, Send, route
from redis_sessions._plan import Script, Wait

OLD, NEW = "127.0.0.1:7000", "127.0.0.1:7001"


def _done(plan: Route, answer: Any) -> list[Any]:
    """Send the last answer; return the route's replies."""
    try:
        plan.send(answer)
    except StopIteration as done:
        return cast(list[Any], done.value)
    raise AssertionError("the route went on after its last wave")


def test_a_batch_in_flight_survives_another_batch_clearing_the_loaded_scripts() -> None:
    loaded: dict[str, set[str]] = {}  # the driver's `_loaded`, shared by every batch in flight
    plan = route([Script("load", ("p:{abc}def",), (1,))], lambda call: OLD, loaded)
    step = next(plan)
    assert isinstance(step, Send)
    assert step.calls[OLD][0][:2] == ("SCRIPT", "LOAD")  # loaded in the same write as its first call
    loaded.clear()  # `Driver._lost`, `AsyncDriver.execute` after another batch's connection failure
    assert _done(plan, {OLD: ["0" * 40, b"record"]}) == [b"record"]  # SCRIPT LOAD's sha, EVALSHA's reply
    assert loaded == {OLD: {"load"}}


def test_a_durable_write_moved_to_the_new_primary_and_confirmed_there_succeeds() -> None:
    owner = {"node": OLD}
    loaded = {OLD: set(_scripts.NAMES), NEW: set(_scripts.NAMES)}
    plan = route([Script("save", ("p:{abc}def",), (1,)), Wait(1, 500)], lambda call: owner["node"], loaded)
    step = next(plan)
    assert isinstance(step, Send) and [args[0] for args in step.calls[OLD]] == ["EVALSHA", "WAIT"]
    refused = ResponseError("WAIT cannot be used with replica instances. Please also note that ...")
    step = plan.send({OLD: [MovedError(f"1234 {NEW}"), refused]})  # the old primary is a replica now
    assert isinstance(step, Refresh)
    owner["node"] = NEW
    step = plan.send(None)
    assert isinstance(step, Send) and [args[0] for args in step.calls[NEW]] == ["EVALSHA", "WAIT"]
    assert _done(plan, {NEW: [b"saved", 1]}) == [b"saved", 1]  # stored, and 1 replica confirmed it
