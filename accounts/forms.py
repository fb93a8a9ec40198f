import math

from django import forms
from django.db import transaction
from django.utils import timezone

from accounts import two_factor

CODE_HELP = "The 6-digit code from your authenticator app, or one of your recovery codes."


def normalise_code(code):
    """Return ``code`` as stored: no spaces or dashes, lower case."""
    return "".join(code.split()).replace("-", "").lower()


def throttle_message(extra):
    seconds = max(1, math.ceil((extra["locked_until"] - timezone.now()).total_seconds()))
    return (
        "Too many wrong codes in a row. "
        f"Wait {seconds} second{'s' if seconds != 1 else ''}, then try again."
    )


class DeviceCodeForm(forms.Form):
    """Check a code against one of the user's devices, counting wrong codes on the device."""

    code = forms.CharField(
        label="Code",
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autocapitalize": "none", "autofocus": True}
        ),
    )
    error_messages = {
        "invalid": "That code is not right. Check the time on your phone and try again.",
    }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.device = None
        self.wrong_code = False

    def candidate_device(self, code):
        raise NotImplementedError

    def clean_code(self):
        code = normalise_code(self.cleaned_data["code"])
        device = self.candidate_device(code)
        if device is None:
            self.wrong_code = True
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        # The failure count a wrong code adds must be saved, so no error is raised inside
        # the transaction; the row lock stops two tries of the same code both passing.
        with transaction.atomic():
            device = type(device).objects.select_for_update().get(pk=device.pk)
            allowed, extra = device.verify_is_allowed()
            verified = allowed and device.verify_token(code)
        if not allowed:
            raise forms.ValidationError(throttle_message(extra), code="throttled")
        if not verified:
            self.wrong_code = True
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        self.device = device
        return code


class SignInCodeForm(DeviceCodeForm):
    """The second step of signing in: a code from the authenticator app or a recovery code."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].help_text = CODE_HELP

    def candidate_device(self, code):
        # Each code is tried on the one device whose codes look like it, so a mistyped
        # app code never counts against the recovery codes, nor the other way round.
        if code.isdigit() and len(code) == 6:
            return two_factor.authenticator_for(self.user)
        return two_factor.recovery_device_for(self.user)


class ConfirmAuthenticatorForm(DeviceCodeForm):
    """The code that proves the authenticator app being set up shows the right numbers."""

    def __init__(self, *args, device, **kwargs):
        super().__init__(*args, **kwargs)
        self.unconfirmed_device = device
        self.fields["code"].help_text = "The 6-digit code your authenticator app shows now."
        self.fields["code"].widget.attrs["inputmode"] = "numeric"

    def candidate_device(self, code):
        return self.unconfirmed_device
