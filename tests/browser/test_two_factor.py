"""An editor sets up two-factor sign-in and signs in with a code, in Chromium."""

import base64

import pytest
from django_otp.oath import totp

from tests.browser.signing_in import sign_in_with_password
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_editor_enrols_then_signs_in_with_a_code(live_server, page, settings):
    settings.STAFF_2FA = "editors"
    UserFactory(username="ed", role="Editor")
    base = live_server.url

    sign_in_with_password(page, base, "ed")
    page.wait_for_url(base + "/accounts/two-factor/enrol/")
    qr_code = page.get_by_role("img", name="QR code to scan with your authenticator app")
    assert qr_code.evaluate("image => image.complete && image.naturalWidth > 0")
    key = base64.b32decode(page.locator("#setup-key").inner_text().replace(" ", ""))
    page.get_by_label("Code").fill(f"{totp(key):06d}")
    page.get_by_role("button", name="Turn on two-factor authentication").click()

    page.wait_for_url(base + "/accounts/two-factor/recovery-codes/")
    assert page.locator("#recovery-codes li").count() == 10
    page.get_by_role("link", name="I have saved my recovery codes").click()
    page.wait_for_url(base + "/admin/")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(base + "/admin/logout/")

    sign_in_with_password(page, base, "ed")
    page.wait_for_url(base + "/accounts/verify/")
    page.goto(base + "/admin/articles/article/")
    page.wait_for_url(base + "/admin/login/?next=/admin/articles/article/")
    sign_in_with_password(page, base, "ed")
    page.wait_for_url(base + "/accounts/verify/")
    # The code the app shows half a minute later: each code signs in only once.
    page.get_by_label("Code").fill(f"{totp(key, t0=-30):06d}")
    page.get_by_role("button", name="Verify").click()

    page.wait_for_url(base + "/admin/")
    assert page.get_by_role("link", name="Two-factor authentication").is_visible()
