from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.http import url_has_allowed_host_and_scheme

from newsletter.addresses import MAX_EMAIL_LENGTH, normalize_email
from newsletter.models import Issue, Newsletter

CONSENT_TEXT = (
    "Send me the newsletters I chose by email. I can unsubscribe at any time with the "
    "link at the bottom of every email; my address is used for nothing else."
)
PREFERENCES_CONSENT_TEXT = "Chose these newsletters on the preferences page."
# Named like a field a person would fill in, so that bots do; people never see it.
HONEYPOT_FIELD = "website"


class NewsletterChoiceField(forms.ModelMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def label_from_instance(self, newsletter):
        return newsletter.name


def clean_address(value: str) -> str:
    """Return ``value`` normalised as the newsletter stores it, or raise ValidationError."""
    try:
        email = normalize_email(value)
    except ValueError as error:
        raise ValidationError("Enter a valid email address.", code="invalid") from error
    if len(email) > MAX_EMAIL_LENGTH:
        raise ValidationError(
            f"An email address has at most {MAX_EMAIL_LENGTH} characters.", code="max_length"
        )
    validate_email(email)
    return email


class SignupForm(forms.Form):
    email = forms.EmailField(
        label="Email address",
        max_length=MAX_EMAIL_LENGTH,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
        error_messages={
            "required": "Enter your email address.",
            "invalid": "Enter a valid email address, like name@example.com.",
        },
    )
    newsletters = NewsletterChoiceField(
        queryset=Newsletter.objects.active(),
        required=False,
        label="Newsletters",
        help_text="Leave all unticked for our main newsletters.",
    )
    website = forms.CharField(
        label="Leave this field empty",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )
    page = forms.CharField(required=False, max_length=500, widget=forms.HiddenInput)

    consent_text = CONSENT_TEXT

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].widget.attrs["maxlength"] = MAX_EMAIL_LENGTH

    def is_bot(self) -> bool:
        """Return whether the hidden field people never see was filled in."""
        return bool(self.data.get(HONEYPOT_FIELD, "").strip())

    def clean_email(self):
        return clean_address(self.cleaned_data["email"])

    def clean_newsletters(self):
        chosen = list(self.cleaned_data["newsletters"])
        if not chosen:
            chosen = list(Newsletter.objects.active().filter(is_default=True))
        if not chosen:
            raise ValidationError("Choose at least one newsletter.")
        return chosen

    def clean_page(self):
        """Return the site path the form was sent from, for the consent record, or ""."""
        page = self.cleaned_data["page"].strip()
        if page and url_has_allowed_host_and_scheme(page, allowed_hosts=None):
            return page
        return ""


class PreferencesForm(forms.Form):
    newsletters = NewsletterChoiceField(
        queryset=Newsletter.objects.active(),
        required=False,
        label="Send me",
        help_text="Untick them all to stop every newsletter.",
    )

    consent_text = PREFERENCES_CONSENT_TEXT


class ImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text='UTF-8, with a header line that has an "email" column. At most 10 MB.',
    )
    newsletters = NewsletterChoiceField(
        queryset=Newsletter.objects.all(), label="Subscribe them to"
    )
    consent_text = forms.CharField(
        label="How they consented",
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Kept as each subscriber's consent record, e.g. \"Signed up on paper at "
        'the Book Fair, 3 May 2025".',
    )
    attest = forms.BooleanField(
        label="I confirm that everyone in this file asked to receive these newsletters.",
        error_messages={"required": "Nobody can be imported without their consent."},
    )

    max_size = 10 * 1024 * 1024

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > self.max_size:
            raise ValidationError("The file is larger than 10 MB; split it.")
        raw = upload.read()
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise ValidationError(
                "The file is not UTF-8 text. Save it from the spreadsheet as "
                '"CSV UTF-8" and try again.'
            ) from error


class IssueAdminForm(forms.ModelForm):
    class Meta:
        model = Issue
        fields = ["newsletter", "subject", "preheader", "intro"]
