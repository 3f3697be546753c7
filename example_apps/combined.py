"""The three example apps on one session store, as ``scripts/demo.sh`` serves them.

``/`` is the FastAPI example, ``/flask/`` the Flask one (through a2wsgi), ``/django/`` the Django site
(its own ASGI handler). They share the Redis URL, key prefix, secret and cookie name, so one cookie is
one session in all three: log in on one and you are logged in on the others (the Django site logs in
the user the session is bound to: see ``django_site/shared_login.py``), fill the cart in one and see it
in the other, log out anywhere and you are logged out everywhere. Settings come from the environment
as the ASGI example reads them (REDIS_URL, SESSION_SECRET_KEYS, SESSION_KEY_PREFIX, SESSION_TTL...).
"""

from __future__ import annotations

import os
import sys

from a2wsgi import WSGIMiddleware
from starlette.applications import Starlette
from starlette.routing import Mount

if "SESSION_SECRET_KEYS" not in os.environ:  # warn once here, not once per app
    print(
        "WARNING: SESSION_SECRET_KEYS is not set: cookies are signed with a public demo secret. "
        "Never use it in production.",
        file=sys.stderr,
    )
    os.environ["SESSION_SECRET_KEYS"] = "demo-only-secret-do-not-use-in-production"
os.environ["DJANGO_SITE_SHARED_LOGIN"] = "1"  # the cookie named "session", one login for all three

from example_apps import asgi_app, flask_app  # after the environment is set

# Django reads its settings from the environment: give it the ASGI example's.
_config = asgi_app.config_from_env()
os.environ["DJANGO_SECRET_KEY"] = _config.secret_keys[0]
os.environ["REDIS_SESSIONS_KEY_PREFIX"] = _config.key_prefix
os.environ["DJANGO_SESSION_COOKIE_AGE"] = str(_config.ttl)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_apps.django_site.settings")

import django  # noqa: E402  (after the environment is set)

django.setup()
from django.core.asgi import get_asgi_application  # noqa: E402
from django.core.management import call_command  # noqa: E402

call_command("migrate", interactive=False, verbosity=0)  # the site's users (SQLite)

app = Starlette(
    routes=[
        Mount("/flask", app=WSGIMiddleware(flask_app.create_app())),  # type: ignore[arg-type]
        Mount("/django", app=get_asgi_application()),  # type: ignore[arg-type]
        Mount("/", app=asgi_app.create_app(_config)),
    ]
)
