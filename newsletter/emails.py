"""The emails the newsletter sends, each with an HTML and a plain-text part.

Every email names its subscriber's own signed unsubscribe link in the body and in the
RFC 8058 headers, so that mail apps can offer a one-click "Unsubscribe" button:

    List-Unsubscribe: <https://news.example.org/newsletter/unsubscribe/…/>
    List-Unsubscribe-Post: List-Unsubscribe=One-Click
"""

import binascii
import secrets
from email.utils import formatdate, make_msgid
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import forbid_multi_line_headers, sanitize_address
from django.core.mail.utils import DNS_NAME
from django.template.loader import render_to_string
from django.utils.functional import cached_property
from django.utils.html import escape

from articles.html import absolute_html, html_to_text
from articles.structured_data import image_file
from newsletter import tokens
from newsletter.models import Issue, Newsletter, Subscriber
from publication.addresses import absolute_url
from publication.models import SiteSettings

# Stories' photos are shown at most 552 px wide; twice that is sharp on 2x screens.
EMAIL_IMAGE_WIDTH = 1280
# Gmail clips an HTML part above about 102 KB and hides the rest, footer and
# unsubscribe link included, behind "View entire message".
GMAIL_CLIP_BYTES = 102 * 1024
PERSONAL_FIELDS = ("email", "unsubscribe_url", "preferences_url")
PLAIN_PART_HEADERS = (
    b'Content-Type: text/plain; charset="utf-8"\nContent-Transfer-Encoding: quoted-printable'
)
HTML_PART_HEADERS = (
    b'Content-Type: text/html; charset="utf-8"\nContent-Transfer-Encoding: quoted-printable'
)


def from_address() -> str:
    return getattr(settings, "NEWSLETTER_FROM_EMAIL", "") or settings.DEFAULT_FROM_EMAIL


def list_id(newsletter: Newsletter) -> str:
    """Return the RFC 2919 List-Id of ``newsletter``, which mail filters and apps key on."""
    host = urlsplit(settings.SITE_URL).hostname or "localhost"
    return f"{newsletter.name} <{newsletter.slug}.{host}>"


def subscriber_context(subscriber: Subscriber, newsletter: Newsletter | None) -> dict:
    """Return what every email names of its subscriber: the address and its own links."""
    return {
        "subscriber": subscriber,
        "unsubscribe_url": tokens.unsubscribe_url(subscriber, newsletter),
        "preferences_url": tokens.preferences_url(subscriber),
    }


def list_headers(unsubscribe_url: str, newsletter: Newsletter | None) -> dict:
    headers = {
        "List-Unsubscribe": f"<{unsubscribe_url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    if newsletter is not None:
        headers["List-Id"] = list_id(newsletter)
    return headers


def subscriber_message(
    *,
    subscriber: Subscriber,
    subject: str,
    template: str,
    context: dict | None = None,
    newsletter: Newsletter | None = None,
    connection=None,
) -> EmailMultiAlternatives:
    """Return an email to ``subscriber`` from ``newsletter/email/<template>.{txt,html}``."""
    personal = subscriber_context(subscriber, newsletter)
    context = {
        "site_name": SiteSettings.load().site_name,
        "site_url": settings.SITE_URL,
        "newsletter": newsletter,
        **personal,
        **(context or {}),
    }
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"newsletter/email/{template}.txt", context),
        from_email=from_address(),
        to=[subscriber.email],
        headers=list_headers(personal["unsubscribe_url"], newsletter),
        connection=connection,
    )
    message.attach_alternative(
        render_to_string(f"newsletter/email/{template}.html", context), "text/html"
    )
    return message


def confirmation_message(subscriber: Subscriber) -> EmailMultiAlternatives:
    """Return the double opt-in email asking ``subscriber`` to confirm what it asked for."""
    pending = subscriber.subscriptions.pending().newsletters()
    site_name = SiteSettings.load().site_name
    return subscriber_message(
        subscriber=subscriber,
        subject=f"Confirm your subscription to {site_name}",
        template="confirm",
        context={
            "newsletters": pending,
            "confirm_url": tokens.confirm_url(subscriber),
            "valid_days": tokens.CONFIRM_MAX_AGE.days,
        },
    )


def already_subscribed_message(subscriber: Subscriber) -> EmailMultiAlternatives:
    """Return the note sent when a confirmed address signs up again for what it already has."""
    confirmed = subscriber.subscriptions.confirmed().newsletters()
    site_name = SiteSettings.load().site_name
    return subscriber_message(
        subscriber=subscriber,
        subject=f"You are already subscribed to {site_name}",
        template="already_subscribed",
        context={"newsletters": confirmed},
    )


def email_image_url(photo) -> str:
    """Return a JPEG of ``photo`` sized for email: sharp at the column width on 2x screens.

    Mail apps show JPEG everywhere (Outlook on Windows shows no WebP), and an original
    straight from a camera can weigh megabytes per reader; until the renditions task has
    drawn the copies, the original is the only file there is.
    """
    return absolute_url(image_file(photo, max_width=EMAIL_IMAGE_WIDTH).url)


def issue_context(issue: Issue) -> dict:
    """Return what every copy of ``issue`` shares."""
    stories = [
        {
            "headline": article.headline,
            "dek": article.dek,
            "url": absolute_url(article.get_absolute_url()),
            "section": article.section.name if article.section else "",
            "photo_url": (
                email_image_url(article.lead_photo)
                if article.lead_photo and article.lead_photo.image
                else ""
            ),
            "photo_alt": (
                article.lead_photo.alt_for(article.lead_caption) if article.lead_photo else ""
            ),
        }
        for article in issue.ordered_stories()
    ]
    return {
        "issue": issue,
        # Mail apps have no page to resolve a link against: every address is absolute.
        "intro_html": absolute_html(issue.intro, settings.SITE_URL + "/"),
        "intro_text": html_to_text(issue.intro),
        "stories": stories,
    }


class IssueEmail:
    """``issue`` rendered once; each subscriber's copy only swaps in their address and links.

    The templates are rendered with a marker in place of each personal value; the markers
    are letters and digits, which HTML escaping leaves alone, and are replaced per
    subscriber with the value escaped for each part. Rendering templates per subscriber
    would cost more than the SMTP conversation.
    """

    def __init__(self, issue: Issue):
        self.issue = issue
        self.newsletter = issue.newsletter
        nonce = secrets.token_hex(8)
        self.markers = {name: f"NR{nonce}{name.upper()}X" for name in PERSONAL_FIELDS}
        context = {
            "site_name": SiteSettings.load().site_name,
            "site_url": settings.SITE_URL,
            "newsletter": self.newsletter,
            "subscriber": {"email": self.markers["email"]},
            "unsubscribe_url": self.markers["unsubscribe_url"],
            "preferences_url": self.markers["preferences_url"],
            **issue_context(issue),
        }
        self.text = render_to_string("newsletter/email/issue.txt", context)
        self.html = render_to_string("newsletter/email/issue.html", context)
        self.from_email = from_address()

    def personal_values(self, subscriber: Subscriber) -> dict[str, str]:
        personal = subscriber_context(subscriber, self.newsletter)
        return {
            "email": subscriber.email,
            "unsubscribe_url": personal["unsubscribe_url"],
            "preferences_url": personal["preferences_url"],
        }

    def personalise(self, template: str, values: dict[str, str], *, html: bool) -> str:
        for name, marker in self.markers.items():
            template = template.replace(marker, escape(values[name]) if html else values[name])
        return template

    def message_for(self, subscriber: Subscriber, connection=None) -> EmailMultiAlternatives:
        values = self.personal_values(subscriber)
        message = EmailMultiAlternatives(
            subject=self.issue.subject,
            body=self.personalise(self.text, values, html=False),
            from_email=self.from_email,
            to=[subscriber.email],
            headers=list_headers(values["unsubscribe_url"], self.newsletter),
            connection=connection,
        )
        message.attach_alternative(self.personalise(self.html, values, html=True), "text/html")
        return message

    def smtp_payload(self, subscriber: Subscriber) -> tuple[str, list[str], bytes]:
        """Return envelope sender, recipients and the MIME bytes of ``subscriber``'s copy.

        The same message ``message_for`` builds, assembled from parts encoded once per
        issue: Python's email generator folds and encodes every header and part of every
        copy again, which costs more than the SMTP conversation. Headers are encoded by
        Django's own helpers; each body is quoted-printable (binascii, in C).
        """
        values = self.personal_values(subscriber)
        encoding = settings.DEFAULT_CHARSET
        recipient = sanitize_address(subscriber.email, encoding)
        headers = [
            *self.frame_headers,
            "To: " + forbid_multi_line_headers("To", subscriber.email, encoding)[1],
            "Date: " + formatdate(localtime=settings.EMAIL_USE_LOCALTIME),
            "Message-ID: " + make_msgid(domain=DNS_NAME),
            f"List-Unsubscribe: <{values['unsubscribe_url']}>",
        ]
        text = self.personalise(self.text, values, html=False).replace("\r\n", "\n")
        html = self.personalise(self.html, values, html=True).replace("\r\n", "\n")
        boundary = self.boundary
        payload = b"\n".join(
            [
                "\n".join(headers).encode(),
                b"",
                b"--" + boundary,
                PLAIN_PART_HEADERS,
                b"",
                binascii.b2a_qp(text.encode(), istext=True),
                b"--" + boundary,
                HTML_PART_HEADERS,
                b"",
                binascii.b2a_qp(html.encode(), istext=True),
                b"--" + boundary + b"--",
                b"",
            ]
        )
        # smtplib sends bytes as they are: the lines must already end in CRLF.
        return self.envelope_sender, [recipient], payload.replace(b"\n", b"\r\n")

    @cached_property
    def frame_headers(self) -> list[str]:
        encoding = settings.DEFAULT_CHARSET
        headers = {
            "From": self.from_email,
            "Subject": self.issue.subject,
            "MIME-Version": "1.0",
            "Content-Type": f'multipart/alternative; boundary="{self.boundary.decode()}"',
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
        if self.newsletter is not None:
            headers["List-Id"] = list_id(self.newsletter)
        return [
            ": ".join(forbid_multi_line_headers(name, value, encoding))
            for name, value in headers.items()
        ]

    @cached_property
    def boundary(self) -> bytes:
        return f"===============newsroom{secrets.token_hex(12)}==".encode()

    @cached_property
    def envelope_sender(self) -> str:
        return sanitize_address(self.from_email, settings.DEFAULT_CHARSET)

    def html_bytes(self, subscriber: Subscriber) -> int:
        """Return the size of one subscriber's HTML part, as Gmail measures it for clipping."""
        return len(
            self.personalise(self.html, self.personal_values(subscriber), html=True).encode()
        )


def issue_message(
    issue: Issue, subscriber: Subscriber, *, connection=None
) -> EmailMultiAlternatives:
    """Return ``issue`` as an email to ``subscriber`` (previews and tests; sending reuses one
    ``IssueEmail`` for every subscriber)."""
    return IssueEmail(issue).message_for(subscriber, connection=connection)
