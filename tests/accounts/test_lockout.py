"""Failed sign-ins lock out, over HTTP with real passwords, as an attacker would try them."""

import re

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command

from tests.accounts.signing_in import LOGIN_URL, STORY_LIST, sign_in, text_of
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

LOCKOUT_MESSAGE = (
    "Too many failed sign-in attempts. Try again in 15 minutes, "
    "or ask an administrator to unlock your account."
)
WRONG_PASSWORD_MESSAGE = "Please enter the correct username and password for a staff account."


def fail(client, username, times, **kwargs):
    """Sign in with a wrong password ``times`` times; return the last answer."""
    for _ in range(times):
        response = sign_in(client, username, "wrong password", **kwargs)
    return response


def page_without_tokens(response, username):
    """Return the page with what differs between any two renders taken out."""
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())
    return page.replace(f'value="{username}"', 'value=""')


def test_five_wrong_passwords_lock_out_even_the_right_one(client, editor):
    for _ in range(4):
        response = fail(client, "ed", 1)
        assert response.status_code == 200
        assert WRONG_PASSWORD_MESSAGE in text_of(response)
    assert fail(client, "ed", 1).status_code == 429

    response = sign_in(client, "ed")

    assert response.status_code == 429
    assert response["Retry-After"] == "900"
    assert LOCKOUT_MESSAGE in text_of(response)
    assert client.get(STORY_LIST).status_code == 302


def test_four_wrong_passwords_still_let_the_right_one_in(client, editor):
    fail(client, "ed", 4)

    response = sign_in(client, "ed")

    assert response.status_code == 302
    assert response["Location"] == STORY_LIST


def test_a_password_spray_from_one_address_locks_that_address(client, editor):
    for username in ["alice", "bob", "carol", "dave", "erin"]:
        fail(client, username, 1, address="203.0.113.9")

    from_spraying_address = sign_in(client, "ed", address="203.0.113.9")
    from_elsewhere = sign_in(client, "ed", address="198.51.100.7")

    assert from_spraying_address.status_code == 429
    assert from_elsewhere.status_code == 302


def test_guessing_one_password_from_many_addresses_locks_the_account(client, editor):
    for host in range(1, 6):
        fail(client, "ed", 1, address=f"203.0.113.{host}")

    response = sign_in(client, "ed", address="198.51.100.7")

    assert response.status_code == 429
    assert LOCKOUT_MESSAGE in text_of(response)


def test_an_unknown_username_is_answered_exactly_like_a_known_one(client, editor):
    known = sign_in(client, "ed", "wrong password", address="198.51.100.1")
    unknown = sign_in(client, "nobody", "wrong password", address="198.51.100.2")

    assert known.status_code == unknown.status_code == 200
    assert page_without_tokens(known, "ed") == page_without_tokens(unknown, "nobody")

    fail(client, "ed", 4, address="198.51.100.1")
    fail(client, "nobody", 4, address="198.51.100.2")
    known_locked = sign_in(client, "ed", address="198.51.100.1")
    unknown_locked = sign_in(client, "nobody", address="198.51.100.2")

    assert known_locked.status_code == unknown_locked.status_code == 429
    assert known_locked.content == unknown_locked.content


def test_a_superuser_deleting_the_attempts_in_the_admin_unlocks(client, editor, superuser):
    fail(client, "ed", 5)
    assert sign_in(client, "ed").status_code == 429

    client.force_login(superuser)
    changelist = client.get("/admin/axes/accessattempt/?q=ed")
    assert changelist.status_code == 200
    assert "Locked Out" in text_of(changelist)
    attempt = AccessAttempt.objects.get(username="ed")
    confirmation = client.post(
        "/admin/axes/accessattempt/",
        {"action": "delete_selected", "_selected_action": [attempt.pk], "post": "yes"},
    )
    assert confirmation.status_code == 302
    client.logout()

    response = sign_in(client, "ed")

    assert response.status_code == 302
    assert response["Location"] == STORY_LIST


def test_axes_reset_username_unlocks_from_the_command_line(client, editor):
    fail(client, "ed", 5)

    call_command("axes_reset_username", "ed")

    assert sign_in(client, "ed").status_code == 302


def test_the_forwarded_for_header_is_ignored_when_not_behind_a_proxy(client, editor, settings):
    settings.BEHIND_PROXY = False
    for host in range(1, 6):
        fail(
            client,
            f"user{host}",
            1,
            address="203.0.113.9",
            headers={"X-Forwarded-For": f"192.0.2.{host}"},
        )

    response = sign_in(
        client, "ed", address="203.0.113.9", headers={"X-Forwarded-For": "192.0.2.99"}
    )

    assert response.status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.9"}


def test_behind_a_proxy_the_address_the_proxy_saw_is_counted(client, editor, settings):
    settings.BEHIND_PROXY = True
    settings.PROXY_COUNT = 1
    proxy = "10.0.0.2"
    for host in range(1, 6):
        # The attacker forges a different left-hand entry every time; the proxy appends
        # the address it really saw.
        fail(
            client,
            f"user{host}",
            1,
            address=proxy,
            headers={"X-Forwarded-For": f"192.0.2.{host}, 203.0.113.9"},
        )

    attacker = sign_in(client, "ed", address=proxy, headers={"X-Forwarded-For": "203.0.113.9"})
    colleague = sign_in(client, "ed", address=proxy, headers={"X-Forwarded-For": "198.51.100.7"})

    assert attacker.status_code == 429
    assert colleague.status_code == 302
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.9"}


def test_a_forwarded_for_entry_that_is_no_address_counts_against_the_proxy(
    client, editor, settings
):
    settings.BEHIND_PROXY = True
    settings.PROXY_COUNT = 1

    response = fail(client, "ed", 1, address="10.0.0.2", headers={"X-Forwarded-For": "unknown"})

    assert response.status_code == 200
    assert WRONG_PASSWORD_MESSAGE in text_of(response)
    assert AccessAttempt.objects.get().ip_address == "10.0.0.2"


def test_a_rejected_next_address_leads_to_the_admin(client, editor):
    response = client.post(
        LOGIN_URL,
        {"username": "ed", "password": PASSWORD, "next": "https://evil.example/"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def test_a_missing_next_address_leads_to_the_admin(client, editor):
    response = client.post(LOGIN_URL, {"username": "ed", "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
