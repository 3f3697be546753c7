"""The site's user: Django's, keyed by its username.

The per-user session index binds a session to ``_auth_user_id``, the user's primary key. With the
username as the key, that is the same user id the ASGI and Flask examples bind (``session.user_id =
username``), so "your sessions" and "log out everywhere" see the sessions of all three apps.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.db import models


class User(AbstractUser):
    username: models.CharField[str, str] = models.CharField(
        "username",
        max_length=40,
        primary_key=True,
        validators=[UnicodeUsernameValidator()],
        help_text="At most 40 characters: letters, digits and @/./+/-/_ only.",
        error_messages={"unique": "A user with that username already exists."},
    )
