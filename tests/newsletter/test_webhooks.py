"""Email providers' tracking webhooks: bounces and complaints suppress, forgeries change nothing.

Each provider's post is written in the format its documentation gives (Mailgun's
"webhook payloads", Postmark's bounce, spam complaint and subscription change webhooks,
SendGrid's event webhook, Amazon SES notifications delivered by SNS, Brevo's
transactional webhooks, Resend's email events, Mandrill's and MailerSend's signed
webhooks), and signed or authenticated as the provider does it. django-anymail runs for
real: nothing of it is mocked.
"""

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.test import Client

from newsletter.models import Subscriber, Subscription, SuppressionReason
from tests.factories import SubscriberFactory, subscribe

WEBHOOK_SECRET = "anymail:4f2c8e0b9d7a6c5e"
MAILGUN_SIGNING_KEY = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"
MANDRILL_WEBHOOK_KEY = "mandrill-webhook-key-Zq8x3v"
MANDRILL_URL = "https://news.example.org/newsletter/webhooks/mandrill/"
MAILERSEND_SIGNING_SECRET = "mailersend-signing-secret-7QwE"
READER = "reader@example.com"


@pytest.fixture
def anymail(settings):
    """Set the site up as an operator does: a shared webhook secret and providers' keys."""
    settings.ANYMAIL = {
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_SIGNING_KEY,
        "MANDRILL_WEBHOOK_KEY": MANDRILL_WEBHOOK_KEY,
        "MANDRILL_WEBHOOK_URL": MANDRILL_URL,
        "MAILERSEND_SIGNING_SECRET": MAILERSEND_SIGNING_SECRET,
    }
    return settings.ANYMAIL


@pytest.fixture
def reader(db):
    return SubscriberFactory(email=READER)


@pytest.fixture
def webhook_client():
    """A client that enforces CSRF, as a browser's request would meet it."""
    return Client(enforce_csrf_checks=True)


RESEND_SIGNING_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def basic_auth(credentials=WEBHOOK_SECRET):
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(credentials.encode()).decode()}


def post_mailgun(client, payload, **headers):
    """Post as Mailgun does to a URL carrying the shared secret (https://user:pass@…)."""
    return post_json(client, "mailgun", payload, **basic_auth(), **headers)


def post_json(client, provider, payload, **headers):
    return client.post(
        f"/newsletter/webhooks/{provider}/tracking/",
        data=json.dumps(payload),
        content_type="application/json",
        **headers,
    )


def refreshed(subscriber) -> Subscriber:
    subscriber.refresh_from_db()
    return subscriber


def assert_untouched(subscriber):
    subscriber = refreshed(subscriber)
    assert subscriber.suppressed_at is None
    assert subscriber.suppression_reason == ""
    assert subscriber.soft_bounces == 0


# Mailgun --------------------------------------------------------------------------


def mailgun_payload(event_data, key=MAILGUN_SIGNING_KEY):
    """Return a Mailgun webhook body, signed with ``key`` as Mailgun signs it."""
    timestamp, token = "1481631604", "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0"
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256)
    return {
        "signature": {"timestamp": timestamp, "token": token, "signature": signature.hexdigest()},
        "event-data": {
            "id": "CPgfbmQMTCKtHW6uIWtuVe",
            "timestamp": 1481631604.6107,
            "log-level": "error",
            "recipient": READER,
            "recipient-domain": "example.com",
            "envelope": {"sender": "bounces@news.example.org", "transport": "smtp"},
            "message": {
                "headers": {
                    "to": READER,
                    "message-id": "20161213122004.1.ABC@news.example.org",
                    "from": "Newsroom <newsletter@news.example.org>",
                    "subject": "Morning briefing",
                },
                "attachments": [],
                "size": 2816,
            },
            "tags": [],
            "user-variables": {},
            **event_data,
        },
    }


MAILGUN_HARD_BOUNCE = {
    "event": "failed",
    "severity": "permanent",
    "reason": "bounce",
    "delivery-status": {
        "attempt-no": 1,
        "code": 550,
        "message": "5.1.1 The email account that you tried to reach does not exist.",
        "description": "",
        "session-seconds": 0.43,
    },
}
MAILGUN_TEMPORARY_FAILURE = {
    "event": "failed",
    "severity": "temporary",
    "reason": "generic",
    "delivery-status": {
        "attempt-no": 1,
        "code": 452,
        "message": "4.2.2 The email account that you tried to reach is over quota.",
        "description": "",
        "retry-seconds": 600,
    },
}


def test_a_signed_mailgun_hard_bounce_suppresses_the_address(anymail, reader, webhook_client):
    response = post_mailgun(webhook_client, mailgun_payload(MAILGUN_HARD_BOUNCE))

    assert response.status_code == 200
    reader = refreshed(reader)
    assert reader.suppression_reason == SuppressionReason.HARD_BOUNCE
    assert reader.suppression_detail == (
        "Mailgun: 5.1.1 The email account that you tried to reach does not exist."
    )


def test_mailgun_signature_alone_is_enough_without_a_webhook_secret(
    anymail, reader, webhook_client
):
    del anymail["WEBHOOK_SECRET"]

    response = post_json(webhook_client, "mailgun", mailgun_payload(MAILGUN_HARD_BOUNCE))

    assert response.status_code == 200
    assert refreshed(reader).suppression_reason == SuppressionReason.HARD_BOUNCE


def test_a_mailgun_temporary_failure_counts_a_soft_bounce(anymail, reader, webhook_client):
    post_mailgun(webhook_client, mailgun_payload(MAILGUN_TEMPORARY_FAILURE))

    reader = refreshed(reader)
    assert reader.soft_bounces == 1
    assert not reader.is_suppressed


def test_a_mailgun_complaint_suppresses_the_address(anymail, reader, webhook_client):
    post_mailgun(webhook_client, mailgun_payload({"event": "complained"}))

    assert refreshed(reader).suppression_reason == SuppressionReason.COMPLAINT


def test_a_badly_signed_mailgun_post_is_refused_and_changes_nothing(
    anymail, reader, webhook_client
):
    forged = mailgun_payload(MAILGUN_HARD_BOUNCE, key="key-guessed-by-someone-else")

    response = post_mailgun(webhook_client, forged)

    assert response.status_code == 400
    assert_untouched(reader)


def test_a_mailgun_post_without_its_signature_is_refused(anymail, reader, webhook_client):
    payload = mailgun_payload(MAILGUN_HARD_BOUNCE)
    del payload["signature"]

    response = post_mailgun(webhook_client, payload)

    assert response.status_code == 400
    assert_untouched(reader)


def test_a_reader_who_unsubscribes_through_mailgun_leaves_everything(
    anymail, reader, newsletters, webhook_client
):
    subscribe(reader, newsletters["daily"])
    subscribe(reader, newsletters["breaking"])

    post_mailgun(webhook_client, mailgun_payload({"event": "unsubscribed"}))

    assert set(reader.subscriptions.values_list("status", flat=True)) == {
        Subscription.Status.UNSUBSCRIBED
    }
    reader = refreshed(reader)
    assert reader.status == Subscriber.Status.UNSUBSCRIBED
    assert not reader.is_suppressed


# Postmark -------------------------------------------------------------------------


def postmark_bounce(bounce_type, type_code, description, details):
    return {
        "RecordType": "Bounce",
        "MessageStream": "broadcast",
        "ID": 4323372036854775807,
        "Type": bounce_type,
        "TypeCode": type_code,
        "Name": bounce_type,
        "Tag": "daily-briefing",
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "Metadata": {},
        "ServerID": 23,
        "Description": description,
        "Details": details,
        "Email": READER,
        "From": "newsletter@news.example.org",
        "BouncedAt": "2016-12-13T12:20:04.9070259Z",
        "DumpAvailable": True,
        "Inactive": bounce_type == "HardBounce",
        "CanActivate": True,
        "Subject": "Morning briefing",
        "Content": "",
    }


POSTMARK_HARD_BOUNCE = postmark_bounce(
    "HardBounce",
    1,
    "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
    "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
)
POSTMARK_SOFT_BOUNCE = postmark_bounce(
    "SoftBounce",
    4096,
    "Unable to temporarily deliver this email.",
    "smtp;452 4.2.2 The email account that you tried to reach is over quota.",
)
POSTMARK_SPAM_COMPLAINT = {
    **postmark_bounce(
        "SpamComplaint",
        512,
        "The subscriber explicitly marked this message as spam.",
        "Test spam complaint details",
    ),
    "RecordType": "SpamComplaint",
}
POSTMARK_UNSUBSCRIBE = {
    "RecordType": "SubscriptionChange",
    "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
    "ServerID": 23,
    "MessageStream": "broadcast",
    "ChangedAt": "2016-12-13T12:40:04.416071Z",
    "Recipient": READER,
    "Origin": "Recipient",
    "SuppressSending": True,
    "SuppressionReason": "ManualSuppression",
    "Tag": "daily-briefing",
    "Metadata": {},
}


def test_a_postmark_hard_bounce_with_the_webhook_secret_suppresses(anymail, reader, webhook_client):
    response = post_json(webhook_client, "postmark", POSTMARK_HARD_BOUNCE, **basic_auth())

    assert response.status_code == 200
    reader = refreshed(reader)
    assert reader.suppression_reason == SuppressionReason.HARD_BOUNCE
    assert reader.suppression_detail.startswith("Postmark: The server was unable to deliver")
    assert "550 5.1.1" in reader.suppression_detail


def test_postmark_soft_bounces_suppress_at_the_limit(anymail, reader, webhook_client):
    for _ in range(2):
        post_json(webhook_client, "postmark", POSTMARK_SOFT_BOUNCE, **basic_auth())
    assert refreshed(reader).soft_bounces == 2
    assert not refreshed(reader).is_suppressed

    post_json(webhook_client, "postmark", POSTMARK_SOFT_BOUNCE, **basic_auth())

    reader = refreshed(reader)
    assert reader.soft_bounces == 3
    assert reader.suppression_reason == SuppressionReason.SOFT_BOUNCES


def test_the_soft_bounce_limit_is_a_setting(anymail, reader, webhook_client, settings):
    settings.NEWSLETTER_SOFT_BOUNCE_LIMIT = 1

    post_json(webhook_client, "postmark", POSTMARK_SOFT_BOUNCE, **basic_auth())

    assert refreshed(reader).suppression_reason == SuppressionReason.SOFT_BOUNCES


def test_a_postmark_spam_complaint_suppresses(anymail, reader, webhook_client):
    post_json(webhook_client, "postmark", POSTMARK_SPAM_COMPLAINT, **basic_auth())

    assert refreshed(reader).suppression_reason == SuppressionReason.COMPLAINT


def test_a_postmark_unsubscribe_leaves_everything(anymail, reader, newsletters, webhook_client):
    subscribe(reader, newsletters["daily"])

    post_json(webhook_client, "postmark", POSTMARK_UNSUBSCRIBE, **basic_auth())

    assert refreshed(reader).status == Subscriber.Status.UNSUBSCRIBED


@pytest.mark.parametrize(
    "headers",
    [{}, basic_auth("anymail:wrong-password"), {"HTTP_AUTHORIZATION": "Bearer nonsense"}],
    ids=["no auth", "wrong password", "not basic auth"],
)
def test_a_postmark_post_without_the_right_secret_is_refused(
    anymail, reader, webhook_client, headers
):
    response = post_json(webhook_client, "postmark", POSTMARK_HARD_BOUNCE, **headers)

    assert response.status_code == 400
    assert_untouched(reader)


# SendGrid -------------------------------------------------------------------------


def sendgrid_event(email, event, **fields):
    return {
        "email": email,
        "timestamp": 1481631604,
        "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
        "event": event,
        "category": ["daily-briefing"],
        "sg_event_id": f"sg-{event}-{email}",
        "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
        **fields,
    }


def test_a_sendgrid_batch_records_each_event(anymail, db, webhook_client):
    bounced, blocked, deferred, complained, dropped, opened = (
        SubscriberFactory(email=f"{name}@example.com")
        for name in ("bounced", "blocked", "deferred", "complained", "dropped", "opened")
    )
    batch = [
        sendgrid_event(
            "bounced@example.com", "bounce", type="bounce", status="5.1.1",
            reason="550 5.1.1 The email account that you tried to reach does not exist.",
            bounce_classification="Invalid Address",
        ),
        sendgrid_event(
            "blocked@example.com", "bounce", type="blocked", status="4.7.0",
            reason="421 4.7.0 Try again later, closing connection.",
            bounce_classification="Reputation",
        ),
        sendgrid_event("deferred@example.com", "deferred", response="400 try again later",
                       attempt="5"),
        sendgrid_event("complained@example.com", "spamreport"),
        sendgrid_event("dropped@example.com", "dropped", reason="Bounced Address",
                       status="5.0.0"),
        sendgrid_event("opened@example.com", "open", useragent="Mozilla/5.0", ip="192.0.2.1"),
        sendgrid_event("stranger@example.com", "bounce", type="bounce", status="5.1.1",
                       reason="550 5.1.1 unknown"),
    ]  # fmt: skip

    response = post_json(webhook_client, "sendgrid", batch, **basic_auth())

    assert response.status_code == 200
    assert refreshed(bounced).suppression_reason == SuppressionReason.HARD_BOUNCE
    assert refreshed(blocked).soft_bounces == 1
    assert not refreshed(blocked).is_suppressed
    assert refreshed(deferred).soft_bounces == 1
    assert refreshed(complained).suppression_reason == SuppressionReason.COMPLAINT
    assert refreshed(dropped).suppression_reason == SuppressionReason.REJECTED
    assert_untouched(opened)
    assert not Subscriber.objects.filter(email="stranger@example.com").exists()


def test_a_sendgrid_post_with_a_wrong_secret_changes_nothing(anymail, reader, webhook_client):
    batch = [sendgrid_event(READER, "spamreport")]

    response = post_json(webhook_client, "sendgrid", batch, **basic_auth("anymail:guess"))

    assert response.status_code == 400
    assert_untouched(reader)


# Amazon SES (through SNS) ---------------------------------------------------------
# Anymail's SES webhook needs boto3, which django-anymail[amazon-ses] installs.


def sns_notification(ses_event, message_id="22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324"):
    """Return an SNS HTTP(S) notification carrying ``ses_event``, and its SNS headers."""
    topic = "arn:aws:sns:eu-west-1:123456789012:newsroom-ses-events"
    body = {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": topic,
        "Message": json.dumps(ses_event),
        "Timestamp": "2016-12-13T12:20:05.000Z",
        "SignatureVersion": "1",
        "Signature": (
            "EXAMPLEpH+DcEwjAPg8O9mY8dReBSwksfg2S7WKQcikcNKWLQjwu6A4VbeS0QHVCkhRS7fUQvi2egU3N85"
            "8fiTDN6bkkOxYDVrY0Ad8L10Hs3zH81mtnPk5uvvolIC1CXGu43obcgFxeL3khZl8IKvO61GWB6jI9b5+g"
            "LPoBc1Q="
        ),
        "SigningCertURL": "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem",
        "UnsubscribeURL": f"https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={topic}:c9135db0-26c4-47ec-8998-413945fb5a96",
    }  # fmt: skip
    headers = {
        "HTTP_X_AMZ_SNS_MESSAGE_TYPE": "Notification",
        "HTTP_X_AMZ_SNS_MESSAGE_ID": message_id,
        "HTTP_X_AMZ_SNS_TOPIC_ARN": topic,
    }
    return body, headers


SES_MAIL = {
    "timestamp": "2016-12-13T12:20:02.000Z",
    "source": "newsletter@news.example.org",
    "sourceArn": "arn:aws:ses:eu-west-1:123456789012:identity/news.example.org",
    "sendingAccountId": "123456789012",
    "messageId": "0102015900d2d2a0-64d8a3d9-7c8e-4d2e-9a3b-1f2e3d4c5b6a-000000",
    "destination": [READER],
    "headersTruncated": False,
}


def ses_bounce(bounce_type, sub_type, status, diagnostic):
    return {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": bounce_type,
            "bounceSubType": sub_type,
            "bouncedRecipients": [
                {
                    "emailAddress": READER,
                    "action": "failed",
                    "status": status,
                    "diagnosticCode": diagnostic,
                }
            ],
            "timestamp": "2016-12-13T12:20:04.000Z",
            "feedbackId": "0102015900d2d2a0-feedback-000000",
            "remoteMtaIp": "203.0.113.25",
            "reportingMTA": "dsn; a8-70.smtp-out.amazonses.com",
        },
        "mail": SES_MAIL,
    }


def test_an_ses_permanent_bounce_suppresses(anymail, reader, webhook_client):
    body, headers = sns_notification(
        ses_bounce("Permanent", "General", "5.1.1", "smtp; 550 5.1.1 user unknown")
    )

    response = post_json(webhook_client, "amazon_ses", body, **headers, **basic_auth())

    assert response.status_code == 200
    reader = refreshed(reader)
    assert reader.suppression_reason == SuppressionReason.HARD_BOUNCE
    assert reader.suppression_detail == (
        "Amazon SES: Permanent: General — smtp; 550 5.1.1 user unknown"
    )


def test_an_ses_transient_bounce_counts_a_soft_bounce(anymail, reader, webhook_client):
    body, headers = sns_notification(
        ses_bounce("Transient", "MailboxFull", "4.2.2", "smtp; 452 4.2.2 mailbox full")
    )

    post_json(webhook_client, "amazon_ses", body, **headers, **basic_auth())

    reader = refreshed(reader)
    assert reader.soft_bounces == 1
    assert not reader.is_suppressed


def test_an_ses_complaint_suppresses(anymail, reader, webhook_client):
    complaint = {
        "notificationType": "Complaint",
        "complaint": {
            "userAgent": "ExampleCorp Feedback Loop (V0.01)",
            "complainedRecipients": [{"emailAddress": READER}],
            "complaintFeedbackType": "abuse",
            "arrivalDate": "2016-12-13T12:30:00.000Z",
            "timestamp": "2016-12-13T12:30:01.000Z",
            "feedbackId": "0102015900d2d2a0-complaint-000000",
        },
        "mail": SES_MAIL,
    }
    body, headers = sns_notification(complaint)

    post_json(webhook_client, "amazon_ses", body, **headers, **basic_auth())

    reader = refreshed(reader)
    assert reader.suppression_reason == SuppressionReason.COMPLAINT
    assert reader.suppression_detail == "Amazon SES: abuse"


def test_an_sns_post_without_auth_is_asked_for_it_and_changes_nothing(
    anymail, reader, webhook_client
):
    body, headers = sns_notification(
        ses_bounce("Permanent", "General", "5.1.1", "smtp; 550 5.1.1 user unknown")
    )

    response = post_json(webhook_client, "amazon_ses", body, **headers)

    # SNS sends credentials only once challenged, so anymail answers 401 first.
    assert response.status_code == 401
    assert_untouched(reader)


def test_an_sns_post_with_a_wrong_secret_is_refused(anymail, reader, webhook_client):
    body, headers = sns_notification(
        ses_bounce("Permanent", "General", "5.1.1", "smtp; 550 5.1.1 user unknown")
    )

    response = post_json(
        webhook_client, "amazon_ses", body, **headers, **basic_auth("anymail:guess")
    )

    assert response.status_code == 400
    assert_untouched(reader)


# Brevo ----------------------------------------------------------------------------


def brevo_event(event, reason=""):
    return {
        "event": event,
        "email": READER,
        "id": 26224,
        "date": "2016-12-13 13:20:04",
        "ts": 1481631604,
        "message-id": "<201612131220.12345678901@smtp-relay.mailin.fr>",
        "ts_event": 1481631604,
        "subject": "Morning briefing",
        "tag": "daily-briefing",
        "sending_ip": "185.41.28.109",
        "ts_epoch": 1481631604223,
        "tags": ["daily-briefing"],
        **({"reason": reason} if reason else {}),
    }


@pytest.mark.parametrize(
    ("event", "reason", "expected"),
    [
        ("hard_bounce", "550 5.1.1 unknown user", SuppressionReason.HARD_BOUNCE),
        ("spam", "", SuppressionReason.COMPLAINT),
        ("blocked", "blocked : due to blacklist user", SuppressionReason.REJECTED),
    ],
)
def test_brevo_bounces_complaints_and_blocks_suppress(
    anymail, reader, webhook_client, event, reason, expected
):
    response = post_json(webhook_client, "brevo", brevo_event(event, reason), **basic_auth())

    assert response.status_code == 200
    assert refreshed(reader).suppression_reason == expected


def test_a_brevo_soft_bounce_counts_a_soft_bounce(anymail, reader, webhook_client):
    post_json(
        webhook_client,
        "brevo",
        brevo_event("soft_bounce", "452 4.2.2 mailbox full"),
        **basic_auth(),
    )

    reader = refreshed(reader)
    assert reader.soft_bounces == 1
    assert not reader.is_suppressed


# Resend ---------------------------------------------------------------------------


def resend_event(event_type, **data):
    return {
        "type": event_type,
        "created_at": "2016-12-13T12:20:05.126Z",
        "data": {
            "broadcast_id": "8b146471-e88e-4322-86af-016cd36fd216",
            "created_at": "2016-12-13T12:20:01.894719+00:00",
            "email_id": "56761188-7520-42d8-8898-ff6fc54ce618",
            "from": "Newsroom <newsletter@news.example.org>",
            "to": [READER],
            "subject": "Morning briefing",
            **data,
        },
    }


def test_a_resend_bounce_suppresses(anymail, reader, webhook_client):
    bounce = {
        "message": (
            "The recipient's email provider sent a hard bounce message, and we've "
            "suppressed sending to this address."
        ),
        "subType": "General",
        "type": "Permanent",
    }

    post_json(
        webhook_client, "resend", resend_event("email.bounced", bounce=bounce), **basic_auth()
    )

    reader = refreshed(reader)
    assert reader.suppression_reason == SuppressionReason.HARD_BOUNCE
    assert "hard bounce message" in reader.suppression_detail


def test_resend_complaints_suppress_and_delays_count(anymail, db, webhook_client):
    delayed = SubscriberFactory(email="delayed@example.com")
    complained = SubscriberFactory(email="complained@example.com")

    post_json(
        webhook_client,
        "resend",
        resend_event("email.delivery_delayed", to=["delayed@example.com"]),
        **basic_auth(),
    )
    post_json(
        webhook_client,
        "resend",
        resend_event("email.complained", to=["complained@example.com"]),
        **basic_auth(),
    )

    assert refreshed(delayed).soft_bounces == 1
    assert refreshed(complained).suppression_reason == SuppressionReason.COMPLAINT


def resend_signed_post(client, payload, *, secret=RESEND_SIGNING_SECRET):
    """Post as Resend does: signed by Svix over id, timestamp and body (docs: "Verify
    webhooks requests"), headers svix-id, svix-timestamp and svix-signature."""
    body = json.dumps(payload)
    message_id, timestamp = "msg_2Lh9KRb0pzN4LePd3XiA4ivc7Hh", str(int(time.time()))
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.{body}".encode()
    signature = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return client.post(
        "/newsletter/webhooks/resend/tracking/",
        data=body,
        content_type="application/json",
        HTTP_SVIX_ID=message_id,
        HTTP_SVIX_TIMESTAMP=timestamp,
        HTTP_SVIX_SIGNATURE=f"v1,{signature}",
        **basic_auth(),
    )


def test_a_resend_post_signed_with_the_signing_secret_suppresses(anymail, reader, webhook_client):
    anymail["RESEND_SIGNING_SECRET"] = RESEND_SIGNING_SECRET
    bounce = {"message": "hard bounce message", "subType": "General", "type": "Permanent"}

    response = resend_signed_post(webhook_client, resend_event("email.bounced", bounce=bounce))

    assert response.status_code == 200
    assert refreshed(reader).suppression_reason == SuppressionReason.HARD_BOUNCE


def test_a_badly_signed_resend_post_is_refused_and_changes_nothing(anymail, reader, webhook_client):
    anymail["RESEND_SIGNING_SECRET"] = RESEND_SIGNING_SECRET
    bounce = {"message": "hard bounce message", "subType": "General", "type": "Permanent"}

    response = resend_signed_post(
        webhook_client,
        resend_event("email.bounced", bounce=bounce),
        secret="whsec_" + base64.b64encode(b"not the secret at all, 32 bytes").decode(),
    )

    assert response.status_code in (400, 403)
    assert_untouched(reader)


# Mandrill and MailerSend: providers that sign their posts ---------------------------


def mandrill_post(client, events, key=MANDRILL_WEBHOOK_KEY):
    """Post ``events`` as Mandrill does: a form field, signed over the URL and the fields."""
    fields = {"mandrill_events": json.dumps(events)}
    signed = MANDRILL_URL + "".join(name + fields[name] for name in sorted(fields))
    signature = base64.b64encode(
        hmac.new(key.encode(), signed.encode(), hashlib.sha1).digest()
    ).decode()
    return client.post(
        "/newsletter/webhooks/mandrill/",
        data=fields,
        HTTP_X_MANDRILL_SIGNATURE=signature,
        **basic_auth(),
    )


def mandrill_event(event, diag):
    return {
        "event": event,
        "_id": "exampleaaaaaaaaaaaaaaaaaaaaaaaaa",
        "ts": 1481631604,
        "msg": {
            "ts": 1481631602,
            "subject": "Morning briefing",
            "email": READER,
            "sender": "newsletter@news.example.org",
            "tags": ["daily-briefing"],
            "state": "bounced" if event == "hard_bounce" else "soft-bounced",
            "metadata": {},
            "_id": "exampleaaaaaaaaaaaaaaaaaaaaaaaaa",
            "_version": "exampleaaaaaaaaaaaaaaa",
            "bounce_description": "bad_mailbox" if event == "hard_bounce" else "mailbox_full",
            "bgtools_code": 10 if event == "hard_bounce" else 22,
            "diag": diag,
        },
    }


def test_a_signed_mandrill_hard_bounce_suppresses(anymail, reader, webhook_client):
    response = mandrill_post(
        webhook_client, [mandrill_event("hard_bounce", "smtp;550 5.1.1 user unknown")]
    )

    assert response.status_code == 200
    assert refreshed(reader).suppression_reason == SuppressionReason.HARD_BOUNCE


def test_a_mandrill_soft_bounce_counts(anymail, reader, webhook_client):
    mandrill_post(webhook_client, [mandrill_event("soft_bounce", "smtp;452 4.2.2 mailbox full")])

    assert refreshed(reader).soft_bounces == 1


def test_a_badly_signed_mandrill_post_is_refused(anymail, reader, webhook_client):
    response = mandrill_post(
        webhook_client, [mandrill_event("hard_bounce", "smtp;550 5.1.1")], key="wrong"
    )

    assert response.status_code == 400
    assert_untouched(reader)


def mailersend_post(client, activity, secret=MAILERSEND_SIGNING_SECRET):
    body = json.dumps(
        {
            "type": f"activity.{activity}",
            "domain_id": "7z3m5jgrogdpyo6n",
            "created_at": "2016-12-13T12:20:05.000000Z",
            "webhook_id": "7z3m5jgrogdpyo6n",
            "url": "https://news.example.org/newsletter/webhooks/mailersend/tracking/",
            "data": {
                "id": "62fb66bef54a112e920b5493",
                "type": activity,
                "created_at": "2016-12-13T12:20:05.000000Z",
                "email": {
                    "id": "62fb66bd4b4a7a5c9e5f7ab1",
                    "from": "newsletter@news.example.org",
                    "subject": "Morning briefing",
                    "status": "rejected",
                    "tags": None,
                    "message": {"id": "62fb66bd6e8bbe3b5d9b3b2c"},
                    "recipient": {"id": "62c69be24f29bc7b92a71d1e", "email": READER},
                },
                "morph": {
                    "object": "recipient_bounce",
                    "reason": "Host or domain name not found",
                    "readable_reason": "The recipient's domain does not exist.",
                },
            },
        }
    )
    signature = hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
    return client.post(
        "/newsletter/webhooks/mailersend/tracking/",
        data=body,
        content_type="application/json",
        HTTP_SIGNATURE=signature,
        **basic_auth(),
    )


def test_signed_mailersend_bounces_suppress_or_count(anymail, reader, webhook_client):
    mailersend_post(webhook_client, "soft_bounced")
    assert refreshed(reader).soft_bounces == 1

    response = mailersend_post(webhook_client, "hard_bounced")

    assert response.status_code == 200
    reader = refreshed(reader)
    assert reader.suppression_reason == SuppressionReason.HARD_BOUNCE
    assert reader.suppression_detail == "MailerSend: The recipient's domain does not exist."


def test_a_badly_signed_mailersend_post_is_refused(anymail, reader, webhook_client):
    response = mailersend_post(webhook_client, "hard_bounced", secret="guessed")

    assert response.status_code == 400
    assert_untouched(reader)


# What every webhook does -----------------------------------------------------------


@pytest.mark.parametrize("provider", ["postmark", "sendgrid", "brevo", "resend", "mailgun"])
def test_without_any_webhook_secret_posts_are_refused_not_trusted(
    settings, reader, webhook_client, provider
):
    """Anymail only warns when nothing authenticates a webhook; we refuse the post."""
    settings.ANYMAIL = {}

    response = post_json(webhook_client, provider, POSTMARK_SPAM_COMPLAINT)

    assert response.status_code == 403
    assert_untouched(reader)


def test_events_about_strangers_are_accepted_and_ignored(anymail, db, webhook_client):
    payload = {**POSTMARK_HARD_BOUNCE, "Email": "stranger@example.com"}

    response = post_json(webhook_client, "postmark", payload, **basic_auth())

    assert response.status_code == 200
    assert not Subscriber.objects.exists()


def test_a_delivery_or_open_changes_nothing(anymail, reader, webhook_client):
    delivered = {
        "RecordType": "Delivery",
        "ServerID": 23,
        "MessageStream": "broadcast",
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "Recipient": READER,
        "Tag": "daily-briefing",
        "DeliveredAt": "2016-12-13T12:20:04Z",
        "Details": "Test delivery webhook details",
        "Metadata": {},
    }

    response = post_json(webhook_client, "postmark", delivered, **basic_auth())

    assert response.status_code == 200
    assert_untouched(reader)


def test_webhook_answers_are_never_kept_by_a_shared_cache(anymail, db, webhook_client):
    posted = post_json(webhook_client, "postmark", POSTMARK_HARD_BOUNCE, **basic_auth())
    probed = webhook_client.head("/newsletter/webhooks/postmark/tracking/", **basic_auth())

    for response in (posted, probed):
        assert response.status_code == 200
        assert "private" in response["Cache-Control"]
        assert "xkey" not in response
        assert "Surrogate-Control" not in response


# Settings ---------------------------------------------------------------------------


def manage_in_production(*args, environment):
    """Run manage.py in a fresh process with production settings plus ``environment``."""
    production = {
        "PATH": os.environ["PATH"],
        "DEBUG": "0",
        "SECRET_KEY": "a-long-random-production-secret-" + "k7Qz" * 12,
        "ALLOWED_HOSTS": "news.example.org",
        "CSRF_TRUSTED_ORIGINS": "https://news.example.org",
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=Path(__file__).resolve().parents[2],
        env={**production, **environment},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_anymail_variable_reaches_anymail_as_the_type_it_needs():
    environment = {
        "EMAIL_BACKEND": "anymail.backends.mailgun.EmailBackend",
        "ANYMAIL_MAILGUN_API_KEY": "1234567890",
        "ANYMAIL_MAILGUN_WEBHOOK_SIGNING_KEY": "key-3ax6xnjp29jd6fds4gc373sgvjxteol0",
        "ANYMAIL_MAILGUN_SENDER_DOMAIN": "mg.news.example.org",
        "ANYMAIL_WEBHOOK_SECRET": '["anymail:old-secret", "anymail:new-secret"]',
        "ANYMAIL_IGNORE_UNSUPPORTED_FEATURES": "true",
        "ANYMAIL_REQUESTS_TIMEOUT": "12.5",
        "ANYMAIL_SEND_DEFAULTS": '{"tags": ["newsletter"]}',
        "ANYMAIL_POSTMARK_SERVER_TOKEN": "",
    }
    code = "import json; from django.conf import settings as s; print(json.dumps(s.ANYMAIL))"

    result = manage_in_production("shell", "--no-imports", "-c", code, environment=environment)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "MAILGUN_API_KEY": "1234567890",
        "MAILGUN_WEBHOOK_SIGNING_KEY": "key-3ax6xnjp29jd6fds4gc373sgvjxteol0",
        "MAILGUN_SENDER_DOMAIN": "mg.news.example.org",
        "WEBHOOK_SECRET": ["anymail:old-secret", "anymail:new-secret"],
        "IGNORE_UNSUPPORTED_FEATURES": True,
        "REQUESTS_TIMEOUT": 12.5,
        "SEND_DEFAULTS": {"tags": ["newsletter"]},
    }


def test_a_provider_chosen_by_settings_keeps_the_deploy_check_clean():
    environment = {
        "EMAIL_BACKEND": "anymail.backends.postmark.EmailBackend",
        "ANYMAIL_POSTMARK_SERVER_TOKEN": "d9b0c2a4-5f3e-4b1a-9c8d-7e6f5a4b3c2d",
        "ANYMAIL_WEBHOOK_SECRET": "anymail:4f2c8e0b9d7a6c5e",
    }

    result = manage_in_production(
        "check", "--deploy", "--fail-level", "DEBUG", environment=environment
    )

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_an_anymail_variable_that_is_broken_json_stops_startup_with_a_clear_message():
    result = manage_in_production(
        "check", environment={"ANYMAIL_WEBHOOK_SECRET": '["anymail:secret"'}
    )

    assert result.returncode != 0
    assert "ANYMAIL_WEBHOOK_SECRET is not valid JSON" in result.stderr
