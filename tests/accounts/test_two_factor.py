"""Two-factor sign-in for staff, over HTTP with real passwords and real authenticator codes."""

import base64
import re
from datetime import timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.accounts.signing_in import (
    STORY_LIST,
    current_code,
    sign_in,
    text_of,
    wrong_code,
)
from tests.factories import ArticleFactory, PhotoFactory, UserFactory, image_bytes

pytestmark = pytest.mark.django_db

ENROL_URL = "/accounts/two-factor/enrol/"
VERIFY_URL = "/accounts/verify/"
SETTINGS_URL = "/accounts/two-factor/"
RECOVERY_CODES_URL = "/accounts/two-factor/recovery-codes/"


@pytest.fixture(autouse=True)
def editors_need_two_factor(settings):
    settings.STAFF_2FA = "editors"


@pytest.fixture
def frozen_time():
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


def with_authenticator(user):
    """Give ``user`` a confirmed authenticator app and two recovery codes; return the key."""
    device = TOTPDevice.objects.create(user=user, name="Phone", confirmed=True)
    recovery = StaticDevice.objects.create(user=user, name="Recovery codes")
    StaticToken.objects.bulk_create(
        [
            StaticToken(device=recovery, token="abcd2345"),
            StaticToken(device=recovery, token="wxyz6789"),
        ]
    )
    return device.bin_key


def setup_key_on(page):
    """Return the key an authenticator app takes from the setup key shown in text."""
    match = re.search(r'id="setup-key">([A-Z2-7 ]+)<', page.content.decode())
    return base64.b32decode(match.group(1).replace(" ", ""))


def test_an_editor_cannot_reach_the_admin_until_enrolled(client, editor):
    response = sign_in(client, "ed")

    assert response.status_code == 302
    assert response["Location"] == ENROL_URL
    for url in [STORY_LIST, "/admin/", "/admin/articles/article/add/", "/admin/photos/photo/"]:
        refused = client.get(url)
        assert refused.status_code == 302, url
        assert refused["Location"].startswith("/admin/login/"), url


def test_a_session_with_only_a_password_is_sent_to_enrol(client, editor):
    client.force_login(editor)

    refused = client.get(STORY_LIST)
    login_page = client.get(refused["Location"])

    assert refused.status_code == 302
    assert login_page.status_code == 302
    assert login_page["Location"] == f"{ENROL_URL}?next=%2Fadmin%2Farticles%2Farticle%2F"


def test_enrolling_with_a_real_code_opens_the_admin_and_shows_recovery_codes_once(client, editor):
    sign_in(client, "ed")
    enrol_page = client.get(ENROL_URL)
    assert enrol_page.status_code == 200
    assert 'src="data:image/svg+xml;base64,' in enrol_page.content.decode()
    key = setup_key_on(enrol_page)

    response = client.post(ENROL_URL, {"code": current_code(key)})

    assert response.status_code == 302
    assert response["Location"] == RECOVERY_CODES_URL
    codes_page = client.get(RECOVERY_CODES_URL)
    codes = re.findall(r"<li>([a-z2-7]{8})</li>", codes_page.content.decode())
    assert len(set(codes)) == 10
    assert f'href="{STORY_LIST}"' in codes_page.content.decode()
    assert not re.findall(
        r"<li>([a-z2-7]{8})</li>", client.get(RECOVERY_CODES_URL).content.decode()
    )
    assert client.get(STORY_LIST).status_code == 200


def test_a_setup_key_seen_in_another_session_is_never_the_one_confirmed(client, editor):
    intruder = Client()
    sign_in(intruder, "ed")
    intruder_key = setup_key_on(intruder.get(ENROL_URL))

    sign_in(client, "ed")
    own_key = setup_key_on(client.get(ENROL_URL))
    reloaded_key = setup_key_on(client.get(ENROL_URL))
    client.post(ENROL_URL, {"code": current_code(own_key)})

    assert own_key != intruder_key
    assert reloaded_key == own_key
    assert TOTPDevice.objects.get(user=editor).bin_key == own_key


def test_a_wrong_code_does_not_finish_enrolment(client, editor):
    sign_in(client, "ed")
    key = setup_key_on(client.get(ENROL_URL))

    response = client.post(ENROL_URL, {"code": wrong_code(key)})

    assert response.status_code == 400
    assert "That code is not right" in text_of(response)
    assert client.get(STORY_LIST).status_code == 302
    assert not TOTPDevice.objects.filter(user=editor, confirmed=True).exists()


def test_signing_in_with_an_authenticator_asks_for_its_code(client, editor):
    key = with_authenticator(editor)

    response = sign_in(client, "ed")

    assert response["Location"] == VERIFY_URL
    assert client.get(STORY_LIST).status_code == 302
    verified = client.post(VERIFY_URL, {"code": current_code(key)})
    assert verified.status_code == 302
    assert verified["Location"] == STORY_LIST
    assert client.get(STORY_LIST).status_code == 200


def test_the_code_step_cannot_be_skipped_by_setting_up_a_new_authenticator(client, editor):
    with_authenticator(editor)
    sign_in(client, "ed")

    response = client.get(ENROL_URL)

    assert response.status_code == 302
    assert response["Location"].startswith(VERIFY_URL)
    assert TOTPDevice.objects.filter(user=editor).count() == 1


def test_a_recovery_code_works_once(client, editor):
    with_authenticator(editor)

    sign_in(client, "ed")
    first = client.post(VERIFY_URL, {"code": "ABCD 2345"})
    assert first.status_code == 302
    assert client.get(STORY_LIST).status_code == 200
    client.logout()

    sign_in(client, "ed")
    again = client.post(VERIFY_URL, {"code": "abcd2345"})

    assert again.status_code == 400
    assert "That code is not right" in text_of(again)
    assert client.get(STORY_LIST).status_code == 302


def test_wrong_codes_make_the_next_try_wait(client, editor, frozen_time):
    key = with_authenticator(editor)
    sign_in(client, "ed")

    client.post(VERIFY_URL, {"code": wrong_code(key)})
    hurried = client.post(VERIFY_URL, {"code": current_code(key)})

    assert hurried.status_code == 400
    assert "Too many wrong codes in a row. Wait 1 second, then try again." in text_of(hurried)
    assert client.get(STORY_LIST).status_code == 302

    frozen_time.shift(timedelta(seconds=2))
    assert client.post(VERIFY_URL, {"code": current_code(key)}).status_code == 302
    assert client.get(STORY_LIST).status_code == 200


def test_five_wrong_codes_lock_the_sign_in_out(client, editor, frozen_time):
    key = with_authenticator(editor)
    sign_in(client, "ed")
    for _ in range(4):
        assert client.post(VERIFY_URL, {"code": wrong_code(key)}).status_code == 400
        frozen_time.shift(timedelta(minutes=1))

    locked = client.post(VERIFY_URL, {"code": wrong_code(key)})

    assert locked.status_code == 429
    assert "Too many failed sign-in attempts." in text_of(locked)
    assert client.post(VERIFY_URL, {"code": current_code(key)})["Location"] == "/admin/login/"
    assert sign_in(client, "ed").status_code == 429


def test_reporters_sign_in_with_a_password_alone_unless_every_staff_user_needs_two_factor(
    client, reporter, settings
):
    assert sign_in(client, "rita")["Location"] == STORY_LIST
    client.logout()

    settings.STAFF_2FA = "all"

    assert sign_in(client, "rita")["Location"] == ENROL_URL


def test_superusers_need_two_factor_under_the_editors_policy(client):
    UserFactory(username="root", is_superuser=True)

    assert sign_in(client, "root")["Location"] == ENROL_URL


def test_turning_off_two_factor_is_refused_while_required(client, editor):
    key = with_authenticator(editor)
    sign_in(client, "ed")
    client.post(VERIFY_URL, {"code": current_code(key)})

    settings_page = client.get(SETTINGS_URL)
    refused = client.post("/accounts/two-factor/turn-off/")

    assert "cannot be turned off" in text_of(settings_page)
    assert refused.status_code == 403
    assert TOTPDevice.objects.filter(user=editor).exists()


def test_staff_may_turn_off_two_factor_they_chose(client, reporter):
    key = with_authenticator(reporter)
    sign_in(client, "rita")
    client.post(VERIFY_URL, {"code": current_code(key)})

    response = client.post("/accounts/two-factor/turn-off/")

    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=reporter).exists()
    client.logout()
    assert sign_in(client, "rita")["Location"] == STORY_LIST


def test_new_recovery_codes_void_the_old_ones(client, editor, frozen_time):
    key = with_authenticator(editor)
    sign_in(client, "ed")
    client.post(VERIFY_URL, {"code": current_code(key)})

    response = client.post("/accounts/two-factor/recovery-codes/new/")
    new_codes = re.findall(
        r"<li>([a-z2-7]{8})</li>", client.get(response["Location"]).content.decode()
    )
    client.logout()
    sign_in(client, "ed")

    assert len(new_codes) == 10
    assert client.post(VERIFY_URL, {"code": "abcd2345"}).status_code == 400
    frozen_time.shift(timedelta(seconds=2))
    assert client.post(VERIFY_URL, {"code": new_codes[0]}).status_code == 302


def test_the_two_factor_settings_need_a_verified_session(client, editor):
    with_authenticator(editor)
    client.force_login(editor)

    response = client.get(SETTINGS_URL)

    assert response.status_code == 302
    assert response["Location"].startswith(VERIFY_URL)
    assert client.post("/accounts/two-factor/recovery-codes/new/").status_code == 302
    assert StaticToken.objects.filter(token="abcd2345").exists()


def test_when_an_administrator_removes_a_lost_phone_the_editor_enrols_again(
    client, editor, superuser, settings
):
    with_authenticator(editor)
    settings.STAFF_2FA = "off"
    client.force_login(superuser)
    device = TOTPDevice.objects.get(user=editor)
    removed = client.post(f"/admin/otp_totp/totpdevice/{device.pk}/delete/", {"post": "yes"})
    recovery = StaticDevice.objects.get(user=editor)
    client.post(f"/admin/otp_static/staticdevice/{recovery.pk}/delete/", {"post": "yes"})
    client.logout()
    settings.STAFF_2FA = "editors"

    assert removed.status_code == 302
    assert sign_in(client, "ed")["Location"] == ENROL_URL


def test_an_abandoned_code_step_expires(client, editor, frozen_time):
    key = with_authenticator(editor)
    sign_in(client, "ed")

    frozen_time.shift(timedelta(minutes=11))
    response = client.post(VERIFY_URL, {"code": current_code(key)})

    assert response["Location"] == "/admin/login/"
    assert client.get(STORY_LIST).status_code == 302


def test_two_factor_is_asked_of_nobody_when_off(client, editor, settings):
    settings.STAFF_2FA = "off"

    assert sign_in(client, "ed")["Location"] == STORY_LIST
    assert client.get(STORY_LIST).status_code == 200


def test_staff_pages_outside_the_admin_need_the_second_factor_too(client):
    """Guards the side doors a password-only session could use: preview, uploads, chooser."""
    draft = ArticleFactory(status="draft", published_at=None, headline="Unpublished scoop")
    photo = PhotoFactory()
    client.force_login(UserFactory(username="ed2", role="Editor"))

    preview = client.get(f"/preview/{draft.pk}/")
    upload = client.post(
        "/photos/editor-upload/",
        {"upload": SimpleUploadedFile("a.jpg", image_bytes(), content_type="image/jpeg")},
    )
    summary = client.get(f"/photos/{photo.pk}/summary/")

    assert preview.status_code == 404 and "Unpublished scoop" not in preview.content.decode()
    assert upload.status_code == 403
    assert summary.status_code in (403, 404)
