"""The app the fault tests load over real HTTP: Starlette with our ASGI `SessionMiddleware`, its store
built from the environment (`SessionConfig.from_env`: REDIS_URL, SESSION_SECRET_KEYS,
SESSION_KEY_PREFIX, SESSION_REPLICA_ACKS, SESSION_REPLICA_ACK_TIMEOUT), served by uvicorn in a
subprocess (`tests.served.uvicorn_process`).

Routes: ``POST /hit`` with ``{"client": token}`` increments the session's counter ``n`` and sets
its ``owner`` to that token, answering what the session held before and after; ``GET /read`` answers
the session as it is; ``GET /ping`` never touches the session (uvicorn's start-up probe; it answers the
``replica_acks`` in force).
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from redis_sessions import SessionConfig
from redis_sessions.integrations.asgi import SessionMiddleware

# Short timeouts: a request during a switch answers 503 within about a second (WAIT's own
# replica_ack_timeout must stay below command_timeout).
CONFIG = SessionConfig.from_env(connect_timeout=0.5, command_timeout=1.0)


async def hit(request: Request) -> JSONResponse:
    token = (await request.json())["client"]
    session = request.session
    before = {"n": session.get("n", 0), "owner": session.get("owner")}
    session["n"] = int(before["n"]) + 1
    session["owner"] = token
    return JSONResponse({"before": before, "n": session["n"], "owner": session["owner"]})


async def read(request: Request) -> JSONResponse:
    return JSONResponse({"n": request.session.get("n", 0), "owner": request.session.get("owner")})


async def ping(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True, "replica_acks": CONFIG.replica_acks})


app = Starlette(
    routes=[Route("/hit", hit, methods=["POST"]), Route("/read", read), Route("/ping", ping)],
    middleware=[Middleware(SessionMiddleware, config=CONFIG)],
)
