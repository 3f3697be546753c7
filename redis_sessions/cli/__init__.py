"""The admin CLI (the ``cli`` extra: click and rich): one implementation, three doors.

- ``redis-sessions ...``: the console script, configured by ``--url`` / ``--prefix`` or the
  environment `SessionConfig.from_env` reads (``REDIS_URL``, ``SESSION_KEY_PREFIX``...);
- ``flask redis-sessions ...``: registered through Flask's ``flask.commands`` entry point, reading the
  app's config (`redis_sessions.integrations.flask.cli`);
- ``python manage.py redis_sessions ...``: Django's settings
  (`redis_sessions.integrations.django.management.commands.redis_sessions`).

Each door only says how to open the `SessionStore`; `build_cli` makes the commands.
"""

from __future__ import annotations

from ._group import build_cli, main

__all__ = ["build_cli", "main"]
