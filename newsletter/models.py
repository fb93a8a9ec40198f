from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

from articles.html import sanitize_html
from newsletter.addresses import MAX_EMAIL_LENGTH, normalize_email

# A subject or preheader is a mail header or sits next to one: no line breaks, no controls.
single_line = RegexValidator(
    r"[\x00-\x1f\x7f]",
    inverse_match=True,
    message="Use one line of text, without line breaks.",
)


class NewsletterQuerySet(models.QuerySet):
    def active(self):
        """Return the newsletters readers can sign up for."""
        return self.filter(is_active=True)

    def with_confirmed_count(self):
        """Return the newsletters, each with ``confirmed_count``: its confirmed subscriptions."""
        return self.annotate(
            confirmed_count=models.Count(
                "subscriptions", filter=Q(subscriptions__status=Subscription.Status.CONFIRMED)
            )
        )


class Newsletter(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(
        blank=True, help_text="One or two sentences readers see beside the sign-up box."
    )
    is_default = models.BooleanField(
        "ticked by default",
        default=False,
        help_text="Sign-up forms that offer no choice subscribe readers to the default ones.",
    )
    is_active = models.BooleanField(
        "open for sign-ups",
        default=True,
        help_text="Untick to stop offering it; existing subscribers keep their subscription.",
    )
    position = models.PositiveSmallIntegerField(default=0, help_text="Listed from low to high.")

    objects = NewsletterQuerySet.as_manager()

    class Meta:
        ordering = ["position", "name"]

    def __str__(self):
        return self.name


class SuppressionReason(models.TextChoices):
    HARD_BOUNCE = "hard_bounce", "Hard bounce (the address does not exist)"
    COMPLAINT = "complaint", "Spam complaint"
    SOFT_BOUNCES = "soft_bounces", "Repeated soft bounces"
    REJECTED = "rejected", "Refused by the email provider"


class SubscriberQuerySet(models.QuerySet):
    def mailable(self):
        """Return the subscribers nothing stops us mailing: not suppressed."""
        return self.filter(suppressed_at=None)

    def suppressed(self):
        return self.exclude(suppressed_at=None)

    def for_email(self, email: str):
        """Return the subscriber with address ``email``, whatever its case, if there is one."""
        try:
            email = normalize_email(email)
        except ValueError:
            return self.none()
        return self.filter(email__iexact=email)

    def locked_for_email(self, email: str):
        """Return (subscriber, created) for ``email``, locked for this transaction.

        As ``get_or_create``, but a new address costs one locking read and one insert
        (the row is this transaction's own until it commits), and two requests for the
        same new address cannot both insert it: the second waits for the first's lock.
        """
        email = normalize_email(email)
        subscriber = self.select_for_update().for_email(email).first()
        if subscriber is not None:
            return subscriber, False
        try:
            with transaction.atomic():
                return self.create(email=email), True
        except IntegrityError:
            return self.select_for_update().for_email(email).get(), False

    def status_totals(self) -> dict[str, int]:
        """Return how many subscribers are in each status, every status named."""
        totals = dict.fromkeys(Subscriber.Status.values, 0)
        totals.update(self.order_by().values_list("status").annotate(number=models.Count("id")))
        return totals


class Subscriber(models.Model):
    """One email address, whatever it subscribes to; erasing it erases the person."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending confirmation"
        CONFIRMED = "confirmed", "Confirmed"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"

    email = models.EmailField(
        max_length=MAX_EMAIL_LENGTH,
        help_text="Stored with a lower-case, ASCII domain; unique whatever its case.",
    )
    status = models.CharField(
        max_length=20,
        choices=Status.choices,
        default=Status.PENDING,
        db_index=True,
        help_text=(
            "Confirmed while any subscription is confirmed; pending until the address is "
            "confirmed; unsubscribed once nothing is left."
        ),
    )
    created_at = models.DateTimeField("signed up", auto_now_add=True, db_index=True)
    confirmed_at = models.DateTimeField(
        "address confirmed", null=True, blank=True, help_text="When the address was first proved."
    )
    suppressed_at = models.DateTimeField(
        "suppressed",
        null=True,
        blank=True,
        db_index=True,
        help_text="Set when the address bounced or complained; nothing is sent to it again.",
    )
    suppression_reason = models.CharField(
        "suppressed because", max_length=20, choices=SuppressionReason.choices, blank=True
    )
    suppression_detail = models.TextField(
        "suppression detail",
        blank=True,
        help_text="What the mail server or provider said, and where it came from.",
    )
    soft_bounces = models.PositiveSmallIntegerField(
        "soft bounces",
        default=0,
        help_text="Temporary delivery failures counted since soft_bounce_since.",
    )
    soft_bounce_since = models.DateTimeField(null=True, blank=True)

    objects = SubscriberQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("export_subscribers", "Can export subscribers as CSV"),
            ("import_subscribers", "Can import subscribers from CSV"),
            ("erase_subscriber", "Can erase a subscriber's personal data"),
        ]
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                name="subscriber_email_unique_ci",
                violation_error_message="A subscriber with this email address already exists.",
            ),
        ]

    def __str__(self):
        return self.email

    def save(self, *args, **kwargs):
        try:
            self.email = normalize_email(self.email)
        except ValueError:
            pass  # left as typed; full_clean() reports the address as invalid
        super().save(*args, **kwargs)

    def clean(self):
        try:
            self.email = normalize_email(self.email)
        except ValueError as error:
            raise ValidationError({"email": "Enter a valid email address."}) from error

    @property
    def is_suppressed(self) -> bool:
        return self.suppressed_at is not None

    def status_from_subscriptions(self, statuses) -> str:
        """Return the subscriber's status given the statuses of all its subscriptions."""
        statuses = set(statuses)
        if Subscription.Status.CONFIRMED in statuses:
            return self.Status.CONFIRMED
        if Subscription.Status.PENDING in statuses:
            return self.Status.PENDING
        return self.Status.UNSUBSCRIBED

    def refresh_status(self) -> None:
        """Store the status its subscriptions add up to."""
        self.status = self.status_from_subscriptions(
            self.subscriptions.values_list("status", flat=True)
        )
        Subscriber.objects.filter(pk=self.pk).update(status=self.status)


class SubscriptionQuerySet(models.QuerySet):
    def pending(self):
        """Return the subscriptions waiting for their address to be confirmed."""
        return self.filter(status=Subscription.Status.PENDING)

    def confirmed(self):
        return self.filter(status=Subscription.Status.CONFIRMED)

    def active(self):
        """Return the subscriptions not unsubscribed: pending or confirmed."""
        return self.exclude(status=Subscription.Status.UNSUBSCRIBED)

    def newsletters(self) -> list["Newsletter"]:
        """Return the newsletters of these subscriptions, in their order, in one query."""
        return [subscription.newsletter for subscription in self.select_related("newsletter")]


class Subscription(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending confirmation"
        CONFIRMED = "confirmed", "Confirmed"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"

    subscriber = models.ForeignKey(
        Subscriber, on_delete=models.CASCADE, related_name="subscriptions"
    )
    newsletter = models.ForeignKey(
        Newsletter, on_delete=models.CASCADE, related_name="subscriptions"
    )
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    created_at = models.DateTimeField("requested", auto_now_add=True)
    confirmed_at = models.DateTimeField("confirmed", null=True, blank=True)
    unsubscribed_at = models.DateTimeField("unsubscribed", null=True, blank=True)

    objects = SubscriptionQuerySet.as_manager()

    class Meta:
        ordering = ["newsletter__position", "newsletter__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscriber", "newsletter"],
                name="subscription_unique_newsletter",
                violation_error_message="This address already has a subscription to it.",
            ),
        ]
        indexes = [models.Index(fields=["newsletter", "status"], name="subscription_by_status")]

    def __str__(self):
        return f"{self.newsletter}: {self.get_status_display()}"


class ConsentRecord(models.Model):
    """What a subscriber agreed to, when, and from where: the evidence behind a send."""

    class Kind(models.TextChoices):
        SIGNUP = "signup", "Signed up"
        CONFIRMATION = "confirmation", "Confirmed by email"
        PREFERENCES = "preferences", "Changed preferences"
        IMPORT = "import", "Imported by staff"

    subscriber = models.ForeignKey(
        Subscriber, on_delete=models.CASCADE, related_name="consent_records"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    text = models.TextField("text shown", help_text="The words the subscriber agreed to.")
    newsletters = models.CharField(
        max_length=500, blank=True, help_text="The newsletters it covers, by name."
    )
    page_url = models.CharField("page", max_length=500, blank=True)
    ip_network = models.CharField(
        "IP network",
        max_length=50,
        blank=True,
        help_text="The /24 (IPv4) or /48 (IPv6) network the request came from; never the address.",
    )
    created_at = models.DateTimeField("when", auto_now_add=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The staff member who imported the address, if it was imported.",
    )

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = "consent record"

    def __str__(self):
        return f"{self.get_kind_display()} on {self.created_at:%Y-%m-%d %H:%M}"

    @staticmethod
    def newsletter_names(newsletters) -> str:
        """Return the names of ``newsletters`` as a record keeps them: listed, cut to fit."""
        return ", ".join(newsletter.name for newsletter in newsletters)[:500]


class Issue(models.Model):
    """One edition of a newsletter, sent once to every confirmed subscriber."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"

    newsletter = models.ForeignKey(Newsletter, on_delete=models.PROTECT, related_name="issues")
    subject = models.CharField(max_length=200, validators=[single_line])
    preheader = models.CharField(
        max_length=200,
        blank=True,
        validators=[single_line],
        help_text="The line mail apps show after the subject in the inbox.",
    )
    intro = models.TextField(
        blank=True, help_text="A few words before the stories. Unsafe HTML is removed on save."
    )
    stories = models.ManyToManyField(
        "articles.Article", through="IssueStory", blank=True, related_name="+"
    )
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    recipient_count = models.PositiveIntegerField("recipients", default=0, editable=False)
    sent_count = models.PositiveIntegerField("sent", default=0, editable=False)
    failed_count = models.PositiveIntegerField("failed", default=0, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    send_started_at = models.DateTimeField("sending started", null=True, blank=True, editable=False)
    sent_at = models.DateTimeField("sending finished", null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("send_issue", "Can send issues to subscribers")]

    def __str__(self):
        return self.subject

    def save(self, *args, **kwargs):
        self.intro = sanitize_html(self.intro)
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("admin:newsletter_issue_preview", kwargs={"object_id": self.pk})

    def confirmed_subscribers(self):
        """Return the subscribers confirmed for this issue's newsletter, suppressed or not."""
        return Subscriber.objects.filter(
            subscriptions__newsletter_id=self.newsletter_id,
            subscriptions__status=Subscription.Status.CONFIRMED,
        )

    def recipients(self):
        """Return the subscribers this issue goes to: confirmed, and not suppressed."""
        return self.confirmed_subscribers().mailable()

    def delivery_counts(self) -> dict[str, int]:
        """Return how many of the issue's deliveries are in each state, every state named."""
        counts = dict.fromkeys(Delivery.Status.values, 0)
        counts.update(
            self.deliveries.order_by().values_list("status").annotate(number=models.Count("id"))
        )
        return counts

    def refresh_counts(self) -> dict[str, int]:
        """Store how many of the issue's deliveries are in each state; return them all."""
        counts = self.delivery_counts()
        self.recipient_count = sum(counts.values())
        self.sent_count = counts[Delivery.Status.SENT]
        self.failed_count = counts[Delivery.Status.FAILED]
        Issue.objects.filter(pk=self.pk).update(
            recipient_count=self.recipient_count,
            sent_count=self.sent_count,
            failed_count=self.failed_count,
        )
        return counts

    def finish_if_done(self) -> dict[str, int]:
        """Store the issue's counts, and mark it sent once nothing is waiting or being sent."""
        counts = self.refresh_counts()
        if not counts[Delivery.Status.PENDING] and not counts[Delivery.Status.CLAIMED]:
            Issue.objects.filter(pk=self.pk, status=Issue.Status.SENDING).exclude(
                deliveries__status__in=[Delivery.Status.PENDING, Delivery.Status.CLAIMED]
            ).update(status=Issue.Status.SENT, sent_at=timezone.now())
        return counts

    def ordered_stories(self):
        """Return the issue's stories in order, with what the email shows, in one query."""
        from articles.models import Article

        return list(
            Article.objects.published()
            .filter(newsletter_placements__issue=self)
            .select_related("lead_photo", "section")
            .order_by("newsletter_placements__position", "newsletter_placements__id")
        )


class IssueStory(models.Model):
    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="placements")
    article = models.ForeignKey(
        "articles.Article", on_delete=models.CASCADE, related_name="newsletter_placements"
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = "story"
        verbose_name_plural = "stories"
        constraints = [
            models.UniqueConstraint(
                fields=["issue", "article"],
                name="issue_story_unique",
                violation_error_message="This story is already in the issue.",
            ),
        ]

    def __str__(self):
        return str(self.article)


class SendBatch(models.Model):
    """A run of one issue's deliveries claimed by one worker, sent in id order.

    Before handing each message to the mail server the worker stores its delivery's id
    in ``in_flight`` and refreshes ``heartbeat_at``, so that after a crash (no heartbeat
    for ``NEWSLETTER_CLAIM_TIMEOUT`` seconds) another worker knows exactly what happened:
    deliveries before ``in_flight`` were accepted, the one in flight has an unknown
    outcome, and the rest were never attempted and go back to the queue.
    """

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="batches")
    worker = models.CharField(max_length=200, help_text="host:pid of the worker that claimed it.")
    claimed_at = models.DateTimeField(auto_now_add=True)
    heartbeat_at = models.DateTimeField(db_index=True)
    in_flight = models.PositiveBigIntegerField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    recovered_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when another worker took it over after a crash."
    )

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "send batches"
        indexes = [
            models.Index(
                fields=["issue", "heartbeat_at"],
                name="sendbatch_open",
                condition=Q(finished_at=None, recovered_at=None),
            )
        ]

    def __str__(self):
        return f"{self.issue}: batch {self.pk} ({self.worker})"


class DeliveryQuerySet(models.QuerySet):
    def pending(self):
        """Return the deliveries waiting for a worker to claim them."""
        return self.filter(status=Delivery.Status.PENDING)

    def retryable(self):
        """Return the deliveries that failed for now (the server said try later)."""
        return self.filter(status=Delivery.Status.FAILED, temporary=True)

    def failure_summary(self, limit: int = 5) -> list[dict]:
        """Return the ``limit`` commonest errors of the failed deliveries, with their number."""
        return list(
            self.filter(status=Delivery.Status.FAILED)
            .order_by()
            .values("error", "temporary")
            .annotate(number=models.Count("id"))
            .order_by("-number")[:limit]
        )


class Delivery(models.Model):
    """One issue to one subscriber: the record that stops it ever being sent twice.

    A delivery goes pending → claimed (in a worker's batch) → sent, failed, or unknown
    (the connection dropped while the message was being handed over: it may be in the
    inbox, so only a person decides to send it again). Deliveries to addresses that
    bounced or complained are suppressed; those whose subscriber left are skipped.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        CLAIMED = "claimed", "Being sent"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        UNKNOWN = "unknown", "Outcome unknown"
        SUPPRESSED = "suppressed", "Suppressed (bounced or complained)"
        SKIPPED = "skipped", "Skipped (unsubscribed before sending)"

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="deliveries")
    subscriber = models.ForeignKey(
        Subscriber,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deliveries",
        help_text="Empty once the subscriber's data was erased; the count is kept.",
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    batch = models.ForeignKey(
        SendBatch, on_delete=models.SET_NULL, null=True, blank=True, related_name="deliveries"
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    temporary = models.BooleanField(
        "temporary failure",
        default=False,
        help_text="The last failure was temporary (the server said try later): a retry may work.",
    )
    error = models.TextField(blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["issue", "subscriber"],
                name="delivery_unique_subscriber",
                violation_error_message="This issue already has a delivery for this subscriber.",
            ),
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False),
                name="delivery_sent_has_time",
            ),
        ]
        indexes = [models.Index(fields=["issue", "status"], name="delivery_issue_status")]

    def __str__(self):
        return f"{self.issue} → {self.subscriber or 'erased subscriber'}"
