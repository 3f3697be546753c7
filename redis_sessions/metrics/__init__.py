"""Metrics exporters: `PrometheusObserver` (the ``metrics`` extra) and `OpenTelemetryObserver` (the
``otel`` extra), two `redis_sessions.observer.SessionObserver` implementations.

Each is imported on first use, so this package costs nothing (and needs neither library) until
one is asked for::

    from redis_sessions.metrics import PrometheusObserver
    config = SessionConfig(url=..., secret_keys=[...], observer=PrometheusObserver())
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# Upper bounds (seconds) of the operation duration histograms: a read is ~0.2 ms on a LAN, the
# default command timeout 1 s.
DURATION_BUCKETS = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5
)  # fmt: skip

if TYPE_CHECKING:
    from .otel import OpenTelemetryObserver as OpenTelemetryObserver
    from .prometheus import ActiveSessionsCollector as ActiveSessionsCollector
    from .prometheus import PrometheusObserver as PrometheusObserver

__all__ = ["DURATION_BUCKETS", "ActiveSessionsCollector", "OpenTelemetryObserver", "PrometheusObserver"]

_HOMES = {
    "PrometheusObserver": ("prometheus", "metrics"),
    "ActiveSessionsCollector": ("prometheus", "metrics"),
    "OpenTelemetryObserver": ("otel", "otel"),
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, extra = home
    try:
        imported = __import__(f"{__name__}.{module}", fromlist=[name])
    except ImportError as exc:
        raise ImportError(
            f"{name} needs the {extra!r} extra: pip install 'redis-sessions[{extra}]' ({exc})"
        ) from exc
    return getattr(imported, name)
