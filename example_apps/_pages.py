"""The HTML of the ASGI and Flask examples: escaped f-strings, no templates, no JavaScript, no external
assets. `root` is the app's mount point (``""`` at the site root, ``"/flask"`` under it), before every
link and form action."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from html import escape

from redis_sessions import Session

CATALOG = ("apple", "bread", "coffee", "tea")
HANDLE_LENGTH = 8

_STYLE = """
body { font: 16px/1.5 system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; }
table { border-collapse: collapse; } td, th { padding: .3rem .6rem; border-bottom: 1px solid #ddd; }
th { text-align: left; } form { display: inline; } nav { margin-bottom: 1rem; }
.me { font-weight: bold; color: #060; } .note { color: #555; }
"""


def handle(session: Session) -> str:
    """What the pages show of a session id, and what a revoke form posts: a prefix, never the id."""
    return session.id[:HANDLE_LENGTH]


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _button(action: str, label: str, **fields: str) -> str:
    hidden = "".join(f'<input type="hidden" name="{k}" value="{escape(v)}">' for k, v in fields.items())
    return f'<form method="post" action="{escape(action)}">{hidden}<button>{escape(label)}</button></form>'


# Under example_apps/combined.py (scripts/demo.sh) the three apps share one session: link them.
_OTHER_APPS = (
    " · Same session in <a href='/'>FastAPI</a>, <a href='/flask/'>Flask</a>, <a href='/django/'>Django</a>"
    if os.environ.get("DJANGO_SITE_SHARED_LOGIN") == "1"
    else ""
)


def layout(title: str, user: str | None, body: str, *, root: str = "") -> str:
    if user:
        who = f"Logged in as <b>{escape(user)}</b> · <a href='{escape(root)}/sessions'>Your sessions</a> · "
        who += _button(f"{root}/logout", "Log out")
    else:
        who = "Not logged in"
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body>"
        f"<nav><a href='{escape(root)}/'>Shop</a> · {who}{_OTHER_APPS}</nav>"
        f"<h1>{escape(title)}</h1>{body}</body></html>"
    )


def home(user: str | None, cart: Mapping[str, int], *, root: str = "") -> str:
    login = (
        ""
        if user
        else f'<form method="post" action="{escape(root)}/login"><label>Username '
        '<input name="username" required maxlength="40" autofocus></label> <button>Log in</button></form>'
        '<p class="note">Demo: any name, no password. The cart works without logging in too.</p>'
    )
    items = "".join(
        f"<li>{escape(name)} &times; {count} {_button(f'{root}/cart/remove', 'Remove', item=name)}</li>"
        for name, count in cart.items()
    )
    shop = " ".join(_button(f"{root}/cart/add", f"Add {name}", item=name) for name in CATALOG)
    return layout(
        "Shop",
        user,
        f"{login}<h2>Your cart</h2><ul>{items or '<li>(empty)</li>'}</ul><p>{shop}</p>",
        root=root,
    )


def sessions(
    user: str, rows: Sequence[Session], current_id: str, revoked: int | None, *, root: str = ""
) -> str:
    """The user's active sessions, each with a revoke button; the current one marked."""
    notice = f"<p class='note'>Revoked {revoked} session(s).</p>" if revoked is not None else ""
    body = "".join(_session_row(s, s.id == current_id, root) for s in rows)
    table = (
        "<table><tr><th>Session</th><th>Device</th><th>Created</th><th>Last access</th>"
        f"<th>Expires</th><th></th></tr>{body}</table>"
    )
    others = _button(f"{root}/sessions/revoke-others", "Log out all other sessions") if len(rows) > 1 else ""
    return layout("Your active sessions", user, f"{notice}{table}<p>{others}</p>", root=root)


def _session_row(session: Session, current: bool, root: str) -> str:
    marker = ' <span class="me">(this device)</span>' if current else ""
    label = "Log out here" if current else "Revoke"
    cells = (
        f"<code>{escape(handle(session))}…</code>{marker}",
        escape(str(session.get("device", "?"))),
        _when(session.created_at),
        _when(session.last_accessed),
        _when(session.expires_at),
        _button(f"{root}/sessions/revoke", label, session=handle(session)),
    )
    return "<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"
