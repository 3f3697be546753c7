"""The app the fault tests load over real HTTP: Starlette with our ASGI `SessionMiddleware`, its store
built from the environment (`tests.faults._config`), served by uvicorn in a subprocess
(`tests.served.uvicorn_process`). `flask_app` and `django_app` answer the same routes the same way.

Routes: ``POST /hit`` with ``{"client": token}`` increments the session's counter ``n`` and sets
its ``owner`` to that token, answering what the session held before and after; ``GET /read`` answers
the session as it is; ``GET /ping`` never touches the session (the start-up probe; it answers the
settings in force).
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from redis_sessions.integrations.asgi import SessionMiddleware
from tests.faults._config import CONFIG, described


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
    return JSONResponse(described())


app = Starlette(
    routes=[Route("/hit", hit, methods=["POST"]), Route("/read", read), Route("/ping", ping)],
    middleware=[Middleware(SessionMiddleware, config=CONFIG)],
)
