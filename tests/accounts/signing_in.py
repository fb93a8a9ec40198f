"""Signing in over HTTP as staff do, and the codes an authenticator app would show."""

import re

from django_otp.oath import totp

from tests.factories import PASSWORD

LOGIN_URL = "/admin/login/"
STORY_LIST = "/admin/articles/article/"


def sign_in(client, username, password=PASSWORD, *, address="127.0.0.1", headers=None):
    """Post the admin's login form from ``address``, as a browser does."""
    return client.post(
        LOGIN_URL,
        {"username": username, "password": password, "next": STORY_LIST},
        REMOTE_ADDR=address,
        headers=headers,
    )


def current_code(key):
    """Return the code an authenticator app holding ``key`` (bytes) shows now."""
    return f"{totp(key):06d}"


def wrong_code(key):
    """Return a 6-digit code that is certainly not the current one."""
    return "000000" if current_code(key) != "000000" else "111111"


def text_of(response):
    return re.sub(r"\s+", " ", response.content.decode())
