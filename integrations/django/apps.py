"""The Django app (optional): checks the settings at start-up and adds the management command."""

from __future__ import annotations

from django.apps import AppConfig


class RedisSessionsConfig(AppConfig):
    name = "redis_sessions.integrations.django"
    label = "redis_sessions"
    verbose_name = "Redis sessions"

    def ready(self) -> None:
        from django.conf import settings

        from redis_sessions import _http
        from redis_sessions.integrations.django import _settings

        if settings.SESSION_ENGINE == "redis_sessions.integrations.django":
            engine = _settings.current()  # a bad setting fails here, at start-up, not on a request
            # One WARNING naming what is wrong (unreachable, missing ACL rules, an evicting
            # maxmemory-policy); nothing when all is well.
            _http.log_at_startup(engine.store.health())
