"""A Flask app with `RedisSessions` per test, on the parametrized backend with the test's own key
prefix; its views cover what Flask users do with ``flask.session`` (and Flask-Login)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Blueprint, Flask, jsonify, session
from flask_login import LoginManager, UserMixin, login_user, logout_user

from redis_sessions import SessionStore
from redis_sessions.integrations.flask import RedisSessions, get_session, get_store, regenerate_session
from tests.conftest import SECRET

AppFactory = Callable[..., Flask]


class User(UserMixin):  # type: ignore[misc]  # flask_login is untyped
    def __init__(self, user_id: str) -> None:
        self.id = user_id


def add_views(app: Flask) -> None:
    @app.get("/read/<key>")
    def read(key: str) -> Any:
        return jsonify(value=session.get(key))

    @app.get("/noop")
    def noop() -> Any:
        return jsonify(ok=True)

    @app.get("/write/<key>/<value>")
    def write(key: str, value: str) -> Any:
        session[key] = value
        return jsonify(id=get_session().id)

    @app.get("/append/<key>/<value>")
    def append(key: str, value: str) -> Any:
        session.setdefault(key, []).append(value)  # in place: Flask's rule is to say so
        session.modified = True
        return jsonify(value=session[key])

    @app.get("/permanent/<int:on>")
    def permanent(on: int) -> Any:
        session.permanent = bool(on)
        return jsonify(permanent=session.permanent)

    @app.get("/clear")
    def clear() -> Any:
        session.clear()
        return jsonify(ok=True)

    @app.get("/whoami")
    def whoami() -> Any:
        current = get_session()
        return jsonify(id=current.id, user_id=current.user_id, new=current.new)

    @app.get("/regenerate")
    def regenerate() -> Any:
        return jsonify(id=regenerate_session().id)

    @app.get("/async/write/<key>/<value>")
    async def async_write(key: str, value: str) -> Any:
        session[key] = value
        return jsonify(ok=True)

    @app.get("/login/<user_id>")
    def login(user_id: str) -> Any:
        login_user(User(user_id))
        return jsonify(ok=True)

    @app.get("/logout")
    def logout() -> Any:
        logout_user()
        return jsonify(ok=True)

    shop = Blueprint("shop", __name__, url_prefix="/shop")

    @shop.get("/add/<item>")
    def add(item: str) -> Any:
        session["cart"] = [*session.get("cart", []), item]
        return jsonify(cart=session["cart"])

    app.register_blueprint(shop)
    manager = LoginManager(app)
    manager.user_loader(User)


@pytest.fixture
def make_app(backend_url: str, key_prefix: str) -> Iterator[AppFactory]:
    """``make_app(**config)``: a fresh app with `RedisSessions`; config keys override the defaults."""
    stores: list[SessionStore] = []

    def make(**config: Any) -> Flask:
        app = Flask(__name__)
        app.config.update(
            SECRET_KEY=SECRET, REDIS_SESSIONS_URL=backend_url, REDIS_SESSIONS_KEY_PREFIX=key_prefix
        )
        app.config.update(config)
        RedisSessions(app)
        add_views(app)
        stores.append(get_store(app))
        return app

    yield make
    for store in stores:
        store.close()


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    return make_app()
