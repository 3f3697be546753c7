"""The HTML of the ASGI and Flask examples: escaped f-strings, no templates, no JavaScript, no external
assets. `root` is the app's mount point (``""`` at the site root, ``"/flask"`` under it), before every
link and form action; `framework` is named on every page. The words of the "your sessions" page are
here for the Django site's template too, so the three apps' pages read the same."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from html import escape

from redis_sessions import Session

CATALOG = ("apple", "bread", "coffee", "tea")
HANDLE_LENGTH = 8

# The "your sessions" page, in all three apps.
SESSIONS_TITLE = "Your sessions"
SESSION_COLUMNS = ("Session", "Device", "Created", "Last seen", "Expires", "")
THIS_DEVICE = "(this device)"
LOG_OUT_HERE = "Log out here"
REVOKE = "Revoke"
REVOKE_OTHERS = "Log out all other sessions"

_STYLE = """
body { font: 16px/1.5 system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; }
table { border-collapse: collapse; } td, th { padding: .3rem .6rem; border-bottom: 1px solid #ddd; }
th { text-align: left; } form { display: inline; } nav { margin-bottom: 1rem; }
.me { font-weight: bold; color: #060; } .note { color: #555; } .served { color: #555; margin: 0; }
"""


def handle(session: Session) -> str:
    """What the pages show of a session id, and what a revoke form posts: a prefix, never the id."""
    return session.id[:HANDLE_LENGTH]


def when(moment: datetime) -> str:
    """A session's time as the pages show it (its datetimes are in UTC)."""
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def revoked(count: int) -> str:
    """The notice after revoking `count` sessions."""
    return f"Revoked {count} session(s)."


def served_by(framework: str) -> str:
    """The line at the top of every page of the three apps."""
    return f'<p class="served">Served by <b>{escape(framework)}</b></p>'


def _button(action: str, label: str, **fields: str) -> str:
    hidden = "".join(f'<input type="hidden" name="{k}" value="{escape(v)}">' for k, v in fields.items())
    return f'<form method="post" action="{escape(action)}">{hidden}<button>{escape(label)}</button></form>'


# Under example_apps/combined.py (scripts/demo.sh) the three apps share one session: link them.
_OTHER_APPS = (
    " · Same session in <a href='/'>FastAPI</a>, <a href='/flask/'>Flask</a>, <a href='/django/'>Django</a>"
    if os.environ.get("DJANGO_SITE_SHARED_LOGIN") == "1"
    else ""
)


def layout(title: str, user: str | None, body: str, *, framework: str, root: str = "") -> str:
    if user:
        link = f"<a href='{escape(root)}/sessions'>{SESSIONS_TITLE}</a>"
        who = f"Logged in as <b>{escape(user)}</b> · {link} · "
        who += _button(f"{root}/logout", "Log out")
    else:
        who = "Not logged in"
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)} · {escape(framework)}</title><style>{_STYLE}</style></head><body>"
        f"{served_by(framework)}<nav><a href='{escape(root)}/'>Shop</a> · {who}{_OTHER_APPS}</nav>"
        f"<h1>{escape(title)}</h1>{body}</body></html>"
    )


def home(user: str | None, cart: Mapping[str, int], *, framework: str, root: str = "") -> str:
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
        framework=framework,
        root=root,
    )


def sessions(
    user: str,
    rows: Sequence[Session],
    current_id: str,
    revoked_count: int | None,
    *,
    framework: str,
    root: str = "",
) -> str:
    """The user's active sessions, each with a revoke button; the current one marked."""
    notice = f"<p class='note'>{revoked(revoked_count)}</p>" if revoked_count is not None else ""
    head = "".join(f"<th>{escape(column)}</th>" for column in SESSION_COLUMNS)
    lines = "".join(_session_row(s, s.id == current_id, root) for s in rows)
    table = f"<table><tr>{head}</tr>{lines}</table>"
    others = _button(f"{root}/sessions/revoke-others", REVOKE_OTHERS) if len(rows) > 1 else ""
    body = f"{notice}{table}<p>{others}</p>"
    return layout(SESSIONS_TITLE, user, body, framework=framework, root=root)


def _session_row(session: Session, current: bool, root: str) -> str:
    marker = f' <span class="me">{THIS_DEVICE}</span>' if current else ""
    label = LOG_OUT_HERE if current else REVOKE
    cells = (
        f"<code>{escape(handle(session))}…</code>{marker}",
        escape(str(session.get("device", "?"))),
        when(session.created_at),
        when(session.last_accessed),
        when(session.expires_at),
        _button(f"{root}/sessions/revoke", label, session=handle(session)),
    )
    return "<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"
