"""Who must give a second factor, and the sign-in that waits for it.

A correct password alone does not log a staff user in when a code is due: the session
only remembers who is waiting, so every staff page, in the admin or outside it, stays
closed until the code is given.
"""

import time

from django.conf import settings
from django.contrib import auth
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

PENDING_LOGIN_KEY = "accounts_pending_login"
NEW_RECOVERY_CODES_KEY = "accounts_new_recovery_codes"
ENROLLING_DEVICE_KEY = "accounts_enrolling_device"
# Long enough to install an authenticator app, short enough that a sign-in left
# half-done on a shared computer does not wait for the next person.
PENDING_LOGIN_SECONDS = 10 * 60
RECOVERY_CODE_COUNT = 10


def two_factor_required(user):
    """Return whether ``STAFF_2FA`` obliges this user to set up a second factor."""
    policy = settings.STAFF_2FA
    if not user.is_authenticated or not user.is_staff or policy == "off":
        return False
    if policy == "all" or user.is_superuser:
        return True
    return user.groups.filter(name="Editor").exists()


def has_authenticator(user):
    """Return whether ``user`` has set up an authenticator app (recovery codes back it up)."""
    return TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).exists()


def needs_second_step(user):
    """Return whether signing in takes a code (or setting one up) after the password."""
    return two_factor_required(user) or has_authenticator(user)


def is_fully_signed_in(request):
    """Return whether this signed-in session has given every factor its user needs."""
    user = request.user
    if user.is_verified():
        return True
    # The admin asks several times per page; the answer holds for the whole request.
    if not hasattr(request, "_needs_second_step"):
        request._needs_second_step = needs_second_step(user)
    return not request._needs_second_step


def second_step_url(user):
    """Return the page that asks this user for a code, or sets one up if they have none."""
    return reverse("accounts:verify" if has_authenticator(user) else "accounts:enrol")


def safe_next(request, url, default=None):
    """Return ``url`` if it stays on this site, else ``default`` or the staff home page."""
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return default or reverse(settings.LOGIN_REDIRECT_URL)


def hold_login(request, user, *, next_url):
    """Remember that ``user`` gave the right password and waits for the second step."""
    # A fresh session key, so a session planted on the victim's browser cannot be the
    # one that is about to hold their half-finished sign-in.
    request.session.cycle_key()
    request.session[PENDING_LOGIN_KEY] = {
        "user_id": user.pk,
        "backend": user.backend,
        "next": next_url,
        "since": time.time(),
    }


def pending_user(request):
    """Return the user waiting for their second step in this session, if any."""
    pending = request.session.get(PENDING_LOGIN_KEY)
    if not pending:
        return None
    if time.time() - pending["since"] > PENDING_LOGIN_SECONDS:
        del request.session[PENDING_LOGIN_KEY]
        return None
    user = get_user_model().objects.filter(pk=pending["user_id"], is_active=True).first()
    if user is not None:
        user.backend = pending["backend"]
    return user


def second_step_user(request):
    """Return whom this session's second step is for: the waiting user, or the signed-in one."""
    user = pending_user(request)
    if user is not None:
        return user
    if request.user.is_authenticated:
        return request.user
    return None


def pending_next(request, default=None):
    """Return where the waiting sign-in was headed."""
    pending = request.session.get(PENDING_LOGIN_KEY) or {}
    return safe_next(request, pending.get("next") or default)


def complete_login(request, user, device):
    """Log ``user`` in as verified by ``device``, or mark the current session verified."""
    if request.session.pop(PENDING_LOGIN_KEY, None) is not None:
        # django-otp records the device in the session when it sees this attribute.
        user.otp_device = device
        auth.login(request, user, backend=user.backend)
    else:
        otp_login(request, device)


def authenticator_for(user):
    """Return the user's confirmed authenticator app, if any."""
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).first()


def recovery_device_for(user):
    """Return the user's set of recovery codes, if any."""
    return StaticDevice.objects.devices_for_user(user, confirmed=True).first()


def unconfirmed_authenticator_for(request, user):
    """Return the authenticator this session is setting up, the same one on every visit.

    The key belongs to one session: one seen by someone else who had the password (and
    left it unconfirmed) is never offered to the user's own setup.
    """
    device = (
        TOTPDevice.objects.devices_for_user(user, confirmed=False)
        .filter(pk=request.session.get(ENROLLING_DEVICE_KEY))
        .first()
    )
    if device is None:
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
        request.session[ENROLLING_DEVICE_KEY] = device.pk
    return device


def confirm_authenticator(device):
    """Make ``device`` the user's one authenticator app."""
    TOTPDevice.objects.filter(user=device.user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])


def replace_recovery_codes(user):
    """Give ``user`` a new set of recovery codes, voiding the old, and return them."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name="Recovery codes")
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def turn_off(user):
    """Remove every second factor ``user`` has."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
