"""`tests.faults.app`'s routes on Flask with `RedisSessions`, settings from `tests.faults._config`;
served by a threaded WSGI server in a subprocess (`tests.served.wsgi_process`)."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, request, session

from redis_sessions.integrations.flask import RedisSessions
from tests.faults._config import CONFIG, described, framework_settings

app = Flask(__name__)
app.config.update({f"REDIS_SESSIONS_{name}": value for name, value in framework_settings().items()})
app.config.update(SECRET_KEY=CONFIG.secret_keys[0], SESSION_COOKIE_NAME="session")
RedisSessions(app)


@app.post("/hit")
def hit() -> Any:
    token = request.get_json()["client"]
    before = {"n": session.get("n", 0), "owner": session.get("owner")}
    session["n"] = int(before["n"]) + 1
    session["owner"] = token
    return jsonify(before=before, n=session["n"], owner=session["owner"])


@app.get("/read")
def read() -> Any:
    return jsonify(n=session.get("n", 0), owner=session.get("owner"))


@app.get("/ping")
def ping() -> Any:
    return jsonify(described())
