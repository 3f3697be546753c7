"""The HTML of the ASGI example: escaped f-strings, no templates, no JavaScript, no external assets."""

from __future__ import annotations

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
    return f'<form method="post" action="{action}">{hidden}<button>{escape(label)}</button></form>'


def layout(title: str, user: str | None, body: str) -> str:
    if user:
        who = f"Logged in as <b>{escape(user)}</b> · <a href='/sessions'>Your sessions</a> · "
        who += _button("/logout", "Log out")
    else:
        who = "Not logged in"
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body><nav><a href='/'>Shop</a> · {who}</nav>"
        f"<h1>{escape(title)}</h1>{body}</body></html>"
    )


def home(user: str | None, cart: Mapping[str, int]) -> str:
    login = (
        ""
        if user
        else '<form method="post" action="/login"><label>Username <input name="username" required '
        'maxlength="40" autofocus></label> <button>Log in</button></form>'
        '<p class="note">Demo: any name, no password. The cart works without logging in too.</p>'
    )
    items = "".join(
        f"<li>{escape(name)} &times; {count} {_button('/cart/remove', 'Remove', item=name)}</li>"
        for name, count in cart.items()
    )
    shop = " ".join(_button("/cart/add", f"Add {name}", item=name) for name in CATALOG)
    return layout(
        "Shop", user, f"{login}<h2>Your cart</h2><ul>{items or '<li>(empty)</li>'}</ul><p>{shop}</p>"
    )


def sessions(user: str, rows: Sequence[Session], current_id: str, revoked: int | None) -> str:
    """The user's active sessions, each with a revoke button; the current one marked."""
    notice = f"<p class='note'>Revoked {revoked} session(s).</p>" if revoked is not None else ""
    body = "".join(_session_row(s, s.id == current_id) for s in rows)
    table = (
        "<table><tr><th>Session</th><th>Device</th><th>Created</th><th>Last access</th>"
        f"<th>Expires</th><th></th></tr>{body}</table>"
    )
    others = _button("/sessions/revoke-others", "Log out all other sessions") if len(rows) > 1 else ""
    return layout("Your active sessions", user, f"{notice}{table}<p>{others}</p>")


def _session_row(session: Session, current: bool) -> str:
    marker = ' <span class="me">(this device)</span>' if current else ""
    label = "Log out here" if current else "Revoke"
    cells = (
        f"<code>{escape(handle(session))}…</code>{marker}",
        escape(str(session.get("device", "?"))),
        _when(session.created_at),
        _when(session.last_accessed),
        _when(session.expires_at),
        _button("/sessions/revoke", label, session=handle(session)),
    )
    return "<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"
