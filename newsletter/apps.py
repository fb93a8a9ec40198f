from django.apps import AppConfig


class NewsletterConfig(AppConfig):
    name = "newsletter"
    verbose_name = "Newsletter"

    def ready(self):
        from anymail.signals import tracking

        from newsletter.webhooks import tracking_received

        # Bounces, complaints and unsubscribes reported by the email provider's webhooks.
        tracking.connect(tracking_received, dispatch_uid="newsletter.webhooks.tracking_received")
