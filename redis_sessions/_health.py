"""The health check (`SessionStore.health`): one round trip that measures latency and reports what
would make sessions fail or vanish: error replies, missing ACL permissions, memory eviction.

The ACL part tries, on a key under the prefix that never exists, each command the store needs, in a
form that changes nothing there (``SET ... XX``, ``ZADD ... XX``, ``EVALSHA`` of an unknown sha):
Redis checks permissions before it runs anything, so the reply says "refused" or "allowed" for an
unprivileged user too (``ACL DRYRUN`` and ``ACL GETUSER`` are admin commands). The memory part reads
``INFO memory`` and ``INFO stats``, not ``CONFIG GET``, which managed Redis services block.
"""

from __future__ import annotations

import json
import logging
import re
import time
from functools import cache
from typing import Any

from . import _scripts
from ._plan import Batch, Command, Core, Plan, Primaries
from .errors import BackendMisconfigured, BackendUnavailable
from .results import HealthReport

logger = logging.getLogger("redis_sessions")

# Commands the store sends itself, besides what its scripts call (`script_calls`): with those, the
# least an ACL user needs. tests/contract/test_acl.py runs every store operation as such a user.
SENT = (
    "getex",
    "get",
    "set",
    "del",
    "exists",
    "pttl",
    "scan",
    "zrange",
    "zrangebyscore",
    "zrem",
    "evalsha",
    "script|load",
)
_INFO = "info"  # optional: without it health() cannot see memory limits and evictions

_PROBE_KEY = "health-probe"  # under the prefix; never created (every probe is a no-op on a missing key)
_NO_SHA = "0" * 40
_CALL = re.compile(r"redis\.p?call\(\s*['\"]([A-Za-z]+)['\"]")
# Memory used over maxmemory at which health() warns.
_FULL = 0.9


@cache
def script_calls(name: str) -> tuple[str, ...]:
    """The commands script `name` calls, upper-case, in order of first use."""
    return tuple(dict.fromkeys(c.upper() for c in _CALL.findall(_scripts.source(name))))


@cache
def required_commands() -> tuple[str, ...]:
    """Every command the store's ACL user needs to run sessions (lower-case ACL names), without the
    health check's optional ``info``. (redis-py's handshake, ``HELLO``/``AUTH``, needs no rule.)"""
    inner = (c.lower() for name in _scripts.NAMES for c in script_calls(name))
    return tuple(dict.fromkeys((*SENT, *inner)))


def acl_rules(prefix: str, *, events: bool = False) -> str:
    """``ACL SETUSER`` rules that grant exactly what the store needs with keys under `prefix`, and
    ``info`` for `health`: ``~<prefix>* +info +getex ...`` (tests/contract/test_acl.py). With
    `events` (``publish_events``), also the channels under `prefix` and ``publish``."""
    escaped = re.sub(r"([*?\[\]\\])", r"\\\1", prefix)
    commands = (_INFO, *required_commands(), *(("publish",) if events else ()))
    channels = f"&{escaped}* " if events else ""
    return f"~{escaped}* {channels}" + " ".join(f"+{c}" for c in commands)


def _probe(command: str, key: str) -> Command:
    """A call of `command` that Redis checks against the ACL and that changes nothing."""
    forms: dict[str, tuple[Any, ...]] = {
        "get": ("GET", key),
        "getex": ("GETEX", key, "PX", 1),
        "set": ("SET", key, "", "XX", "PX", 1),
        "del": ("DEL", key),
        "unlink": ("UNLINK", key),
        "exists": ("EXISTS", key),
        "pttl": ("PTTL", key),
        "ttl": ("TTL", key),
        "pexpire": ("PEXPIRE", key, 1),
        "expire": ("EXPIRE", key, 1),
        "pexpireat": ("PEXPIREAT", key, 1),
        "persist": ("PERSIST", key),
        "type": ("TYPE", key),
        "strlen": ("STRLEN", key),
        "zadd": ("ZADD", key, "XX", 0, "m"),
        "zrange": ("ZRANGE", key, 0, -1),
        "zrangebyscore": ("ZRANGEBYSCORE", key, "-inf", "+inf"),
        "zrem": ("ZREM", key, "m"),
        "zremrangebyscore": ("ZREMRANGEBYSCORE", key, "-inf", "-inf"),
        "zcard": ("ZCARD", key),
        "zscore": ("ZSCORE", key, "m"),
        "hget": ("HGET", key, "f"),
        "hgetall": ("HGETALL", key),
        "hdel": ("HDEL", key, "f"),
        "scan": ("SCAN", 0, "MATCH", key, "COUNT", 1),
        "publish": ("PUBLISH", key, ""),  # a channel no one listens to
        "evalsha": ("EVALSHA", _NO_SHA, 0),  # NOSCRIPT when allowed: nothing runs
        "script|load": ("SCRIPT", "LOAD", _scripts.source(min(_scripts.NAMES, key=_source_size))),
    }
    return Command(forms[command])


def _source_size(name: str) -> int:
    return len(_scripts.source(name))


def health(core: Core, backend: str) -> Plan[HealthReport]:
    """The health check's plan: one round trip. On Redis, its replies must come with error replies
    in place as our errors (the drivers' ``probe``); ``memory://`` gets a PING."""
    if backend == "memory":
        started = time.perf_counter()
        yield [Command(("PING",))]
        latency = (time.perf_counter() - started) * 1000
        return HealthReport(ok=True, backend=backend, latency_ms=latency, degraded=False, detail="PING ok")
    (primaries,) = yield [Primaries()]  # every primary of a Cluster; "" for one Redis
    started = time.perf_counter()
    prefix = core.config.key_prefix
    commands = (*required_commands(), *(("publish",) if core.events_channel else ()))
    key = prefix + _PROBE_KEY
    batch: Batch = [Command(("INFO", part), node) for node in primaries for part in ("memory", "stats")]
    replies = yield batch + [_probe(c, key) for c in commands]
    latency = (time.perf_counter() - started) * 1000
    info = replies[: len(batch)]
    probes = dict(zip(commands, replies[len(batch) :], strict=True))
    return _report(backend, latency, prefix, info[0::2], info[1::2], probes)


def _report(
    backend: str, latency: float, prefix: str, memory: list[Any], stats: list[Any], probes: dict[str, Any]
) -> HealthReport:
    """The report from each primary's INFO memory and INFO stats replies and the ACL probes'."""
    failing: dict[str, list[str]] = {}  # reply kind -> commands answered so
    missing: list[str] = []
    for command, reply in probes.items():
        if isinstance(reply, BackendMisconfigured) and reply.kind == "NOPERM":
            text = str(reply)
            grant = f"~{prefix}*" if "keys" in text else f"&{prefix}*" if "channel" in text else f"+{command}"
            if grant not in missing:
                missing.append(grant)
        elif isinstance(reply, BackendUnavailable) and not (
            command == "evalsha" and reply.kind == "NOSCRIPT"
        ):
            failing.setdefault(reply.kind, []).append(command)
    problems = [f"Redis answers {kind} to {', '.join(commands)}" for kind, commands in failing.items()]
    if missing:
        problems.append("the ACL user lacks " + " ".join(missing))
    notes, warnings = [], []
    policy: str | None = None
    evicted = used_memory = maxmemory_total = None
    info_error = next((r for r in memory + stats if isinstance(r, BackendUnavailable)), None)
    if isinstance(info_error, BackendMisconfigured):
        notes.append("memory not checked: grant +info")
    elif info_error is not None:
        problems.append(f"Redis answers {info_error.kind} to INFO")
    else:
        policies = sorted({str(m.get("maxmemory_policy", "")) for m in memory} - {""})
        policy = ",".join(policies) or None
        evicted = sum(int(s.get("evicted_keys", 0)) for s in stats)
        used_memory = sum(int(m.get("used_memory", 0)) for m in memory)
        maxmemory_total = sum(int(m.get("maxmemory", 0)) for m in memory)
        for node_memory in memory:
            maxmemory, used = int(node_memory.get("maxmemory", 0)), int(node_memory.get("used_memory", 0))
            node_policy = node_memory.get("maxmemory_policy")
            if maxmemory and node_policy != "noeviction":
                warnings.append(
                    f"maxmemory-policy {node_policy} evicts sessions (users logged out) when Redis "
                    f"reaches maxmemory ({maxmemory} bytes): noeviction is the recommended policy"
                )
            if maxmemory and used >= _FULL * maxmemory:
                warnings.append(f"Redis uses {100 * used // maxmemory}% of maxmemory")
        if evicted:
            warnings.append(f"Redis has evicted {evicted} keys since it started (INFO stats evicted_keys)")
        notes.append(f"maxmemory-policy {policy}, {evicted} keys evicted")
    detail = "; ".join(problems + warnings + notes) or "ok"
    return HealthReport(
        ok=not problems,
        backend=backend,
        latency_ms=latency,
        degraded=bool(warnings),
        detail=detail,
        missing_permissions=tuple(missing),
        maxmemory_policy=policy,
        evicted_keys=evicted,
        used_memory=used_memory,
        maxmemory=maxmemory_total,
    )


def log_at_startup(report: HealthReport) -> None:
    """Log one WARNING on the ``redis_sessions`` logger when `report` (a `health()` taken at start-up)
    finds the store unable to serve (unreachable, missing ACL permissions, error replies) or sessions
    at risk (eviction), saying what it found; nothing when all is well. For the integrations'
    start-up checks."""
    if not report.ok or report.degraded:
        logger.warning("session store check at start-up: %s", report.detail)


def readiness(report: HealthReport) -> tuple[int, bytes]:
    """The answer of every integration's health endpoint to `report`: HTTP status 200 while the
    store serves sessions (``"status": "ok"``, or ``"degraded"`` when `report.degraded` says
    sessions are at risk) and 503 while it cannot (``"unavailable"``), with a small JSON body:
    ``status``, ``backend``, ``latency_ms`` (None when unreachable) and ``breaker``. No detail text:
    the endpoint is often public, and the detail can name hosts."""
    serving = report.ok or report.fallback
    status = "unavailable" if not serving else "degraded" if report.degraded or report.fallback else "ok"
    latency = None if report.latency_ms is None else round(report.latency_ms, 2)
    body: dict[str, Any] = {
        "status": status,
        "backend": report.backend,
        "latency_ms": latency,
        "breaker": report.breaker,
    }
    if report.fallback_sessions is not None:
        body["fallback"] = report.fallback
        body["fallback_sessions"] = report.fallback_sessions
    return (200 if serving else 503), json.dumps(body).encode()
