"""Routing a batch to the servers that hold its keys, sans-IO: written once for sync and async.

`route` turns one batch of a plan into waves: each wave sends, on one connection per server, the
calls that server owns, all servers at once (one round trip). One server gets one wave for the
whole batch, `Barrier`s included (Redis runs a connection's commands in order); a batch whose
calls on either side of a `Barrier` live on different servers takes one wave per side.

A call is sent again only when the server says it did not run it: ``NOSCRIPT`` (after ``SCRIPT
LOAD`` on that server), ``MOVED`` (to the server named, and the topology is re-read), ``ASK`` (to the
server named, after ``ASKING``) and ``TRYAGAIN`` (after a pause that doubles, from 25 ms). Nothing
else is resent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Generator
from typing import Any, NamedTuple

from redis.exceptions import AskError, MovedError, NoScriptError, ResponseError, TryAgainError

from redis_sessions import _scripts
from redis_sessions._plan import Barrier, Batch, Command, Script, Wait
from redis_sessions.errors import BackendUnavailable

from ._errors import translate

SHAS = {name: hashlib.sha1(_scripts.source(name).encode()).hexdigest() for name in _scripts.NAMES}
# Sent to a server that answered NOSCRIPT (first use, restart, failover, SCRIPT FLUSH).
LOAD_SCRIPTS = [("SCRIPT", "LOAD", _scripts.source(name)) for name in _scripts.NAMES]
REDIRECTS = 5  # MOVED/ASK/TRYAGAIN answers followed per call before the reply counts as an outage
# Seconds before each try after a TRYAGAIN (a call on keys of a slot in mid-migration): 0.775 s in all,
# so that a login in a slot being moved waits for the move rather than answering 503 at once.
TRYAGAIN_PAUSES = (0.025, 0.05, 0.1, 0.2, 0.4)
# Commands without a key: sent to the call's `node`, else to any server.
_KEYLESS = frozenset({"PING", "INFO", "SCAN", "SCRIPT", "ACL", "CONFIG", "DBSIZE", "CLIENT", "MEMORY"})


class Send(NamedTuple):
    """One wave: per server name, the commands to send on one connection, in order. The driver
    answers with each server's replies in the same order (error replies as exceptions, in place)."""

    calls: dict[str, list[tuple[Any, ...]]]


class Refresh(NamedTuple):
    """Re-read the topology (a server answered MOVED); the driver answers None."""


class Pause(NamedTuple):
    """Wait `seconds` (a server answered TRYAGAIN); the driver answers None."""

    seconds: float


Step = Send | Refresh | Pause
Route = Generator[Step, Any, list[Any]]


def wire_args(call: Command | Script) -> tuple[Any, ...]:
    """The command as sent: a `Script` goes as EVALSHA."""
    if isinstance(call, Script):
        return ("EVALSHA", SHAS[call.name], len(call.keys), *call.keys, *call.args)
    return call.args


def routing_key(call: Command | Script) -> str | None:
    """The key whose hash slot decides where `call` goes; None for commands without one."""
    if isinstance(call, Script):
        return call.keys[0]
    name = str(call.args[0]).upper()
    return None if name in _KEYLESS or len(call.args) < 2 else str(call.args[1])


def route(
    batch: Batch,
    locate: Callable[[Command | Script], str],
    loaded: dict[str, set[str]],
    prefix: str = "",
    keep_errors: bool = False,
) -> Route:
    """Run `batch` as waves (see the module doc) and return its replies, in order.

    `locate` names the server that owns a call now (it reads the topology as `Refresh` leaves it).
    `loaded` (server name -> script names known to be loaded there) is kept up to date here: a
    script not known on a server is loaded (``SCRIPT LOAD``) in the same write, before its first
    call, so a call after a `Barrier` never runs before one in front of it that would come back
    NOSCRIPT; the driver clears `loaded` when a connection fails (a restarted server has none).
    Raises our error for the first error reply (or, with `keep_errors`, leaves it in place) and
    `BackendUnavailable` (kind ``"replica acks"``) when a `Wait` is not met.
    """
    replies: list[Any] = [None] * len(batch)
    wait = next((call for call in batch if isinstance(call, Wait)), None)
    acks: list[Any] = []
    wave: list[int] = []
    wave_nodes: set[str] = set()
    for phase in _phases(batch):
        nodes = {locate(batch[i]) for i in phase}  # type: ignore[arg-type]
        if wave and not _joins(wave_nodes, nodes):
            yield from _run_wave(batch, wave, locate, loaded, wait, replies, acks)
            wave, wave_nodes = [], set()
        wave += phase
        wave_nodes |= nodes
    if wave:
        yield from _run_wave(batch, wave, locate, loaded, wait, replies, acks)
    return conclude(batch, replies, acks, prefix, keep_errors)


def conclude(batch: Batch, replies: list[Any], acks: list[Any], prefix: str, keep_errors: bool) -> list[Any]:
    """`replies` with each error reply translated: raised (the first), or kept in place as our error
    with `keep_errors`; raises `BackendUnavailable` (kind ``"replica acks"``) when a `Wait` in
    `batch` got fewer acknowledgements (`acks`: the WAIT replies of the servers written to)."""
    for i, call in enumerate(batch):
        reply = replies[i]
        if isinstance(reply, ResponseError):
            error = translate(reply, call, prefix)
            if not keep_errors:
                raise error from reply
            replies[i] = error
    wait = next((call for call in batch if isinstance(call, Wait)), None)
    if wait is not None:
        fewest = min((a for a in acks if isinstance(a, int)), default=wait.replicas)
        failed = next((a for a in acks if isinstance(a, ResponseError)), None)
        if failed is not None:
            raise translate(failed, wait, prefix) from failed
        if fewest < wait.replicas:
            raise BackendUnavailable(
                f"the write reached Redis but only {fewest} of the {wait.replicas} replicas asked for "
                f"(replica_acks) confirmed it within {wait.timeout_ms} ms (WAIT): it may be lost in a "
                "failover",
                "replica acks",
            )
        replies[batch.index(wait)] = fewest
    return replies


# --- The direct path: one server, nothing to route ------------------------------------------------
def direct_args(batch: Batch, known: set[str] | None) -> tuple[list[tuple[Any, ...]], bool] | None:
    """The commands to send for `batch` on a single server in one write, when every script it calls
    is `known` there (so no call after a `Barrier` can run before a NOSCRIPT in front of it), and
    whether they are the batch's calls one for one (no `Barrier`, no `Wait`); None when the batch
    needs `route` (unknown scripts, `Primaries`)."""
    sent: list[tuple[Any, ...]] = []
    wait: Wait | None = None
    plain = True
    for call in batch:
        if isinstance(call, Command):
            sent.append(call.args)
        elif isinstance(call, Script):
            if known is None or call.name not in known:
                return None
            sent.append(("EVALSHA", SHAS[call.name], len(call.keys), *call.keys, *call.args))
        elif isinstance(call, Wait):
            wait, plain = call, False
        elif isinstance(call, Barrier):
            plain = False
        else:
            return None
    if wait is not None:
        sent.append(("WAIT", wait.replicas, wait.timeout_ms))
    return sent, plain


def direct_replies(batch: Batch, raw: list[Any]) -> tuple[list[Any], list[Any], list[int]]:
    """(replies in `batch` order, the WAIT replies, the indexes of the calls that did not run: a
    script answered NOSCRIPT, a call answered MOVED, ASK or TRYAGAIN; they go again through
    `route`) from the replies to `direct_args`."""
    replies: list[Any] = []
    answers = iter(raw)
    missing: list[int] = []
    for i, call in enumerate(batch):
        if isinstance(call, (Barrier, Wait)):
            replies.append(None)
            continue
        reply = next(answers)
        if isinstance(reply, (MovedError, AskError, TryAgainError)) or (
            isinstance(reply, NoScriptError) and isinstance(call, Script)
        ):
            missing.append(i)
        replies.append(reply)
    acks = list(answers)  # WAIT's, if any
    return replies, acks, missing


def _phases(batch: Batch) -> list[list[int]]:
    """Indexes of the calls to send, split at each `Barrier` (empty phases dropped)."""
    phases: list[list[int]] = [[]]
    for i, call in enumerate(batch):
        if isinstance(call, Barrier):
            phases.append([])
        elif not isinstance(call, Wait):
            phases[-1].append(i)
    return [phase for phase in phases if phase]


def _joins(wave_nodes: set[str], nodes: set[str]) -> bool:
    """Whether the next phase may ride in the same wave: all of it on the wave's one server."""
    return len(wave_nodes) == 1 and nodes == wave_nodes


def _run_wave(
    batch: Batch,
    wave: list[int],
    locate: Callable[[Command | Script], str],
    loaded: dict[str, set[str]],
    wait: Wait | None,
    replies: list[Any],
    acks: list[Any],
) -> Generator[Step, Any, None]:
    """Send the calls at `wave` to their servers, following redirects; fill `replies` and `acks`."""
    targets = {i: (locate(batch[i]), False) for i in wave}  # type: ignore[arg-type]  # (server, ASKING first)
    pauses = iter(TRYAGAIN_PAUSES)
    for attempt in range(REDIRECTS + 1):
        plan: dict[str, list[int]] = {}
        for i, (node, _) in targets.items():
            plan.setdefault(node, []).append(i)
        sends: dict[str, list[tuple[Any, ...]]] = {}
        loads: dict[str, list[str]] = {}
        for node, indexes in plan.items():
            sent = sends.setdefault(node, [])
            known = loaded.setdefault(node, set())
            loads[node] = sorted(
                {c.name for c in (batch[i] for i in indexes) if isinstance(c, Script)} - known
            )
            sent += [("SCRIPT", "LOAD", _scripts.source(name)) for name in loads[node]]
            for i in indexes:
                if targets[i][1]:
                    sent.append(("ASKING",))
                sent.append(wire_args(batch[i]))  # type: ignore[arg-type]
            if wait is not None:
                sent.append(("WAIT", wait.replicas, wait.timeout_ms))
        got = yield Send(sends)
        again: dict[int, tuple[str, bool]] = {}
        no_script: set[str] = set()
        moved = tryagain = False
        for node, indexes in plan.items():
            answers = iter(got[node])
            ran = False  # whether any call ran there: a WAIT after only redirected calls means nothing
            for name in loads[node]:
                _script_loaded(next(answers))
                loaded.setdefault(node, set()).add(name)  # another batch may have cleared it
            for i in indexes:
                if targets[i][1]:
                    next(answers)  # ASKING's OK
                reply = replies[i] = next(answers)
                call = batch[i]
                if isinstance(reply, NoScriptError) and isinstance(call, Script):
                    no_script.add(node)
                    loaded.pop(node, None)
                    again[i] = (node, False)
                elif isinstance(reply, MovedError):
                    moved = True
                    again[i] = (f"{reply.host}:{reply.port}", False)
                elif isinstance(reply, AskError):
                    again[i] = (f"{reply.host}:{reply.port}", True)
                elif isinstance(reply, TryAgainError):
                    tryagain = True
                    again[i] = (node, targets[i][1])
                else:
                    ran = True
                    if isinstance(call, Script) and not isinstance(reply, ResponseError):
                        loaded.setdefault(node, set()).add(call.name)
            if wait is not None:
                ack = next(answers)
                if ran:
                    acks.append(ack)
        if not again or attempt == REDIRECTS:
            return
        if no_script:
            loaded_now = yield Send({node: list(LOAD_SCRIPTS) for node in no_script})
            for node in no_script:
                for reply in loaded_now[node]:
                    _script_loaded(reply)
                loaded[node] = set(_scripts.NAMES)
        if moved:
            yield Refresh()
        if tryagain:
            yield Pause(next(pauses))
        targets = again


def _script_loaded(reply: Any) -> None:
    """Check a SCRIPT LOAD reply; raise our error for an error reply (NOPERM, OOM...)."""
    if isinstance(reply, ResponseError):
        raise translate(reply, Command(LOAD_SCRIPTS[0])) from reply


def only_server(batch: Batch, locate: Callable[[Command | Script], str]) -> str | None:
    """The one server every call of `batch` goes to, when it has no `Barrier` (and no `Primaries`);
    else None."""
    server = None
    for call in batch:
        if isinstance(call, (Command, Script)):
            owner = locate(call)
            if server is None:
                server = owner
            elif owner != server:
                return None
        elif not isinstance(call, Wait):
            return None
    return server
