from __future__ import annotations

from django.test import Client


def test_write_then_read(client: Client) -> None:
    assert client.get("/read/a").json() == {"value": None}
    assert "sessionid" not in client.cookies
    client.get("/write/a/1")
    assert client.get("/read/a").json() == {"value": 1}


def test_login_logout(client: Client) -> None:
    client.get("/write/cart/3")
    before = client.cookies["sessionid"].value
    body = client.get("/login/alice").json()
    assert client.cookies["sessionid"].value != before
    assert client.get("/whoami").json() == {"user": "alice"}
    assert client.get("/read/cart").json() == {"value": 3}
    assert body["session_id"] in client.get("/sessions").json()["ids"]
    client.get("/logout")
    assert client.get("/whoami").json() == {"user": None}
