"""The emails the newsletter sends, each with an HTML and a plain-text part.

Every email names its subscriber's own signed unsubscribe link in the body and in the
RFC 8058 headers, so that mail apps can offer a one-click "Unsubscribe" button:

    List-Unsubscribe: <https://news.example.org/newsletter/unsubscribe/…/>
    List-Unsubscribe-Post: List-Unsubscribe=One-Click
"""

import re
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from articles.html import html_to_text
from newsletter import tokens
from newsletter.models import Issue, Newsletter, Subscriber, Subscription
from newsroom.models import SiteSettings

# nh3 writes every attribute in double quotes, so in sanitised HTML this only ever
# matches a site-relative link or image source.
RELATIVE_URL = re.compile(r'\b(href|src)="/(?!/)')


def from_address() -> str:
    return getattr(settings, "NEWSLETTER_FROM_EMAIL", "") or settings.DEFAULT_FROM_EMAIL


def absolute_html(html: str) -> str:
    """Return sanitised ``html`` with site-relative links made absolute for mail apps."""
    return RELATIVE_URL.sub(lambda match: f'{match.group(1)}="{settings.SITE_URL}/', html)


def absolute_media_url(url: str) -> str:
    return settings.SITE_URL + url if url.startswith("/") else url


def list_id(newsletter: Newsletter) -> str:
    """Return the RFC 2919 List-Id of ``newsletter``, which mail filters and apps key on."""
    host = urlsplit(settings.SITE_URL).hostname or "localhost"
    return f"{newsletter.name} <{newsletter.slug}.{host}>"


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
    unsubscribe_url = tokens.unsubscribe_url(subscriber, newsletter)
    context = {
        "site_name": SiteSettings.load().site_name,
        "site_url": settings.SITE_URL,
        "subscriber": subscriber,
        "newsletter": newsletter,
        "unsubscribe_url": unsubscribe_url,
        "preferences_url": tokens.preferences_url(subscriber),
        **(context or {}),
    }
    headers = {
        "List-Unsubscribe": f"<{unsubscribe_url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    if newsletter is not None:
        headers["List-Id"] = list_id(newsletter)
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"newsletter/email/{template}.txt", context),
        from_email=from_address(),
        to=[subscriber.email],
        headers=headers,
        connection=connection,
    )
    message.attach_alternative(
        render_to_string(f"newsletter/email/{template}.html", context), "text/html"
    )
    return message


def confirmation_message(subscriber: Subscriber) -> EmailMultiAlternatives:
    """Return the double opt-in email asking ``subscriber`` to confirm what it asked for."""
    pending = [
        subscription.newsletter
        for subscription in subscriber.subscriptions.select_related("newsletter").filter(
            status=Subscription.Status.PENDING
        )
    ]
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
    confirmed = [
        subscription.newsletter
        for subscription in subscriber.subscriptions.select_related("newsletter").filter(
            status=Subscription.Status.CONFIRMED
        )
    ]
    site_name = SiteSettings.load().site_name
    return subscriber_message(
        subscriber=subscriber,
        subject=f"You are already subscribed to {site_name}",
        template="already_subscribed",
        context={"newsletters": confirmed},
    )


def issue_context(issue: Issue) -> dict:
    """Return what every copy of ``issue`` shares, built once per batch of emails."""
    stories = [
        {
            "headline": article.headline,
            "dek": article.dek,
            "url": settings.SITE_URL + article.get_absolute_url(),
            "section": article.section.name if article.section else "",
            "photo_url": (
                absolute_media_url(article.lead_photo.image.url)
                if article.lead_photo and article.lead_photo.image
                else ""
            ),
            "photo_alt": (
                ""
                if not article.lead_photo or article.lead_photo.is_decorative
                else article.lead_photo.alt_text or article.lead_caption
            ),
        }
        for article in issue.ordered_stories()
    ]
    return {
        "issue": issue,
        "intro_html": absolute_html(issue.intro),
        "intro_text": html_to_text(issue.intro),
        "stories": stories,
    }


def issue_message(
    issue: Issue, subscriber: Subscriber, *, shared: dict | None = None, connection=None
) -> EmailMultiAlternatives:
    """Return ``issue`` as an email to ``subscriber``; pass ``shared`` from ``issue_context``."""
    return subscriber_message(
        subscriber=subscriber,
        subject=issue.subject,
        template="issue",
        context=shared if shared is not None else issue_context(issue),
        newsletter=issue.newsletter,
        connection=connection,
    )
