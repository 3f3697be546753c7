"""The Flask twin of the ASGI example: log in, a cart kept in the session, your active sessions.

Run ``flask --app example_apps.flask_app run`` from the repository root, with the ASGI example's
environment (REDIS_URL, SESSION_SECRET_KEYS, ...: see `settings_from_env`). Both apps keep the same
session: ``session.user_id`` is the username, ``session["cart"]`` maps item to count, so with one
Redis, secret and key prefix a visitor logged in on one is logged in on the other. Every link and
form action starts with ``request.script_root``: the app works mounted anywhere (``/flask``).
State changes are POST forms; the cookie's SameSite=Lax keeps other sites from posting them.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from flask import Blueprint, Flask, abort, redirect, request, url_for
from werkzeug.wrappers import Response

from example_apps import _pages
from redis_sessions import SessionConfig
from redis_sessions.integrations.flask import (
    RedisSessions,
    clear_session,
    get_session,
    get_store,
    regenerate_session,
)

DEMO_SECRET = "demo-only-secret-do-not-use-in-production"  # asgi_app's: both apps sign alike
FRAMEWORK = "Flask"  # named on every page

shop = Blueprint("shop", __name__)


def _redirect(endpoint: str, **values: Any) -> Response:
    return redirect(url_for(endpoint, **values), 303)  # POST, then redirect, then GET


@shop.get("/")
def home() -> str:
    session = get_session()  # reading creates nothing: no cookie for anonymous visitors
    cart = session.get("cart", {})
    return _pages.home(session.user_id, cart, framework=FRAMEWORK, root=request.script_root)


@shop.post("/login")
def login() -> Response:
    username = request.form.get("username", "").strip()
    if not 0 < len(username) <= 40:
        abort(400, "A username of 1 to 40 characters, please.")
    session = regenerate_session()  # a fresh id at login defeats session fixation
    session.user_id = username  # binds the session to the user's index (sessions_for_user)
    session["device"] = request.headers.get("User-Agent", "unknown")[:80]
    return _redirect("shop.home")


@shop.post("/cart/add")
def cart_add() -> Response:
    item = request.form.get("item", "")
    if item not in _pages.CATALOG:
        abort(400, "No such item.")
    session = get_session()
    cart = dict(session.get("cart", {}))
    cart[item] = cart.get(item, 0) + 1
    session["cart"] = cart  # reassigned: a change made inside a nested value needs `modified`
    return _redirect("shop.home")


@shop.post("/cart/remove")
def cart_remove() -> Response:
    session = get_session()
    cart = dict(session.get("cart", {}))
    cart.pop(request.form.get("item", ""), None)
    if cart:
        session["cart"] = cart
    else:
        session.pop("cart", None)  # an anonymous session left empty is deleted, its cookie expired
    return _redirect("shop.home")


@shop.get("/sessions")
def sessions() -> str | Response:
    session = get_session()
    if session.user_id is None:
        return _redirect("shop.home")
    rows = get_store().sessions_for_user(session.user_id)
    revoked = request.args.get("revoked", type=int)
    root = request.script_root
    return _pages.sessions(session.user_id, rows, session.id, revoked, framework=FRAMEWORK, root=root)


@shop.post("/sessions/revoke")
def revoke() -> Response:
    session = get_session()
    if session.user_id is None:
        return _redirect("shop.home")
    handle = request.form.get("session", "")
    found = [s for s in get_store().sessions_for_user(session.user_id) if _pages.handle(s) == handle]
    if len(found) != 1:  # only the user's own sessions; an ambiguous prefix revokes nothing
        abort(404, "No such session.")
    if found[0].id == session.id:
        clear_session()
        return _redirect("shop.home")
    get_store().delete(found[0])  # its next request finds no session: logged out there
    return _redirect("shop.sessions", revoked=1)


@shop.post("/sessions/revoke-others")
def revoke_others() -> Response:
    session = get_session()
    if session.user_id is None:
        return _redirect("shop.home")
    count = get_store().delete_user_sessions(session.user_id, except_id=session.id)
    return _redirect("shop.sessions", revoked=count)


@shop.post("/logout")
def logout() -> Response:
    clear_session()  # deleted from the store, cookie expired
    return _redirect("shop.home")


def settings_from_env() -> dict[str, Any]:
    """Flask config read as the ASGI example reads its own (`SessionConfig.from_env`, session events
    on, with the demo secret and a warning when SESSION_SECRET_KEYS is unset): the first key signs
    (SECRET_KEY), the others verify (SECRET_KEY_FALLBACKS); cookie settings go to Flask's
    SESSION_COOKIE_* keys."""
    if "SESSION_SECRET_KEYS" in os.environ:
        config = SessionConfig.from_env(publish_events=True)
    else:
        print(
            "WARNING: SESSION_SECRET_KEYS is not set: cookies are signed with a public demo secret. "
            "Never use it in production.",
            file=sys.stderr,
        )
        config = SessionConfig.from_env(secret_keys=[DEMO_SECRET], publish_events=True)
    first, *others = config.secret_keys
    settings: dict[str, Any] = {"SECRET_KEY": first, "SECRET_KEY_FALLBACKS": others}
    for name in ("url", "key_prefix", "ttl", "absolute_ttl", "max_size", "publish_events"):
        settings[f"REDIS_SESSIONS_{name.upper()}"] = getattr(config, name)
    for name in ("name", "path", "domain", "secure", "httponly", "samesite"):
        settings[f"SESSION_COOKIE_{name.upper()}"] = getattr(config, f"cookie_{name}")
    return settings


def create_app(config_overrides: dict[str, Any] | None = None) -> Flask:
    """The example app: settings from the environment, then `config_overrides` over them."""
    app = Flask(__name__, static_folder=None)  # no static files: the pages inline their CSS
    # Cookies with a Max-Age, as the ASGI app sends (also for its sessions), not until the browser closes.
    app.config["REDIS_SESSIONS_PERMANENT"] = True
    app.config.update(settings_from_env())
    app.config.update(config_overrides or {})
    RedisSessions(app)
    app.register_blueprint(shop)
    return app


app = create_app()
