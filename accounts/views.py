"""The second step of staff sign-in, setting up an authenticator, and recovery codes."""

import base64
from functools import wraps
from io import BytesIO

import qrcode
import qrcode.image.svg
from axes.handlers.proxy import AxesProxyHandler
from django.contrib import admin, auth, messages
from django.contrib.auth import signals
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts import two_factor
from accounts.forms import ConfirmAuthenticatorForm, SignInCodeForm
from accounts.lockout import lockout_response


class PasswordStepLoginView(LoginView):
    """Django's login view, holding the sign-in back while a second step is due."""

    def form_valid(self, form):
        user = form.get_user()
        if not two_factor.needs_second_step(user):
            return super().form_valid(form)
        two_factor.hold_login(self.request, user, next_url=self.get_success_url())
        return redirect(two_factor.second_step_url(user))


def staff_page(request, template, context, status=200):
    """Render a sign-in page in the admin's frame."""
    return render(request, template, {**admin.site.each_context(request), **context}, status=status)


def with_next(url_name, next_url):
    return f"{reverse(url_name)}?{urlencode({'next': next_url})}"


def second_step(request):
    """Return whom this session's second step is for, where it leads, and whether it is done."""
    user = two_factor.second_step_user(request)
    next_url = two_factor.pending_next(request, request.GET.get("next"))
    verified = user is not None and request.user == user and request.user.is_verified()
    return user, next_url, verified


@never_cache
def verify(request):
    """Ask for the code from the authenticator app, or a recovery code."""
    user, next_url, verified = second_step(request)
    if user is None:
        return redirect("admin:login")
    if verified:
        return redirect(next_url)
    if not two_factor.needs_second_step(user):
        return redirect("admin:login")
    if not two_factor.has_authenticator(user):
        return redirect(with_next("accounts:enrol", next_url))
    credentials = {"username": user.get_username()}
    form = SignInCodeForm(request.POST or None, user=user)
    if request.method == "POST":
        # A wrong code is a failed sign-in: it counts towards the same lockout as a
        # wrong password, so the code cannot be guessed once the password is known.
        if AxesProxyHandler.is_locked(request, credentials):
            return abandon_second_step(request)
        if form.is_valid():
            two_factor.complete_login(request, user, form.device)
            return redirect(next_url)
        if form.wrong_code:
            signals.user_login_failed.send(
                sender=__name__, credentials=credentials, request=request
            )
            if getattr(request, "axes_locked_out", False):
                return abandon_second_step(request)
    return staff_page(
        request,
        "accounts/verify.html",
        {"title": "Two-factor authentication", "form": form, "next": next_url},
        status=400 if form.errors else 200,
    )


def abandon_second_step(request):
    """End a sign-in that is locked out and show the lockout page."""
    if request.session.pop(two_factor.PENDING_LOGIN_KEY, None) is None:
        auth.logout(request)
    return lockout_response(request)


def qr_code_svg(text):
    """Return ``text`` as a QR code, an SVG image in a data: URI the CSP allows."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def grouped(secret):
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@never_cache
def enrol(request):
    """Set up an authenticator app: scan the code, confirm one code, get recovery codes."""
    user, next_url, verified = second_step(request)
    if user is None:
        return redirect("admin:login")
    if two_factor.has_authenticator(user) and not verified:
        # Only a verified session may replace a second factor; anyone else proves
        # themselves with the one they have.
        return redirect(with_next("accounts:verify", next_url))
    device = two_factor.unconfirmed_authenticator_for(request, user)
    form = ConfirmAuthenticatorForm(request.POST or None, user=user, device=device)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            two_factor.confirm_authenticator(form.device)
            codes = two_factor.replace_recovery_codes(user)
        two_factor.complete_login(request, user, form.device)
        request.session.pop(two_factor.ENROLLING_DEVICE_KEY, None)
        request.session[two_factor.NEW_RECOVERY_CODES_KEY] = {"codes": codes, "next": next_url}
        return redirect("accounts:recovery_codes")
    secret = base64.b32encode(device.bin_key).decode("ascii")
    return staff_page(
        request,
        "accounts/enrol.html",
        {
            "title": "Set up two-factor authentication",
            "form": form,
            "qr_code": qr_code_svg(device.config_url),
            "secret": grouped(secret),
            "required": two_factor.two_factor_required(user),
            "next": next_url,
        },
        status=400 if form.errors else 200,
    )


@never_cache
@login_required
def recovery_codes(request):
    """Show new recovery codes, once."""
    new = request.session.pop(two_factor.NEW_RECOVERY_CODES_KEY, None)
    return staff_page(
        request,
        "accounts/recovery_codes.html",
        {
            "title": "Your recovery codes",
            "codes": new["codes"] if new else None,
            "next": two_factor.safe_next(request, new["next"] if new else None),
        },
    )


def verified_staff_required(view):
    """Let through only staff whose session has given every factor it needs."""

    @wraps(view)
    @login_required
    def wrapped(request, *args, **kwargs):
        if not request.user.is_staff:
            return redirect("admin:login")
        if not two_factor.is_fully_signed_in(request):
            return redirect(with_next("accounts:verify", request.get_full_path()))
        return view(request, *args, **kwargs)

    return wrapped


@never_cache
@verified_staff_required
def settings_page(request):
    """Show the user's second factors and what they may change."""
    user = request.user
    recovery = two_factor.recovery_device_for(user)
    return staff_page(
        request,
        "accounts/two_factor.html",
        {
            "title": "Two-factor authentication",
            "authenticator": two_factor.authenticator_for(user),
            "recovery_codes_left": recovery.token_set.count() if recovery else 0,
            "required": two_factor.two_factor_required(user),
        },
    )


@require_POST
@verified_staff_required
def regenerate_recovery_codes(request):
    """Replace the user's recovery codes with ten new ones."""
    if not two_factor.has_authenticator(request.user):
        raise PermissionDenied("Set up an authenticator app before recovery codes.")
    codes = two_factor.replace_recovery_codes(request.user)
    request.session[two_factor.NEW_RECOVERY_CODES_KEY] = {
        "codes": codes,
        "next": reverse("accounts:settings"),
    }
    return redirect("accounts:recovery_codes")


@require_POST
@verified_staff_required
def turn_off(request):
    """Remove the user's second factors, where the newsroom does not require them."""
    if two_factor.two_factor_required(request.user):
        raise PermissionDenied("Two-factor authentication is required for your account.")
    two_factor.turn_off(request.user)
    messages.success(request, "Two-factor authentication is off for your account.")
    return redirect("accounts:settings")
