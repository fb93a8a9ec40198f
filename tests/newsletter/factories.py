import factory

from newsletter.models import Issue, Newsletter, Subscriber, Subscription


class NewsletterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Newsletter
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Newsletter {n}")
    slug = factory.Sequence(lambda n: f"newsletter-{n}")


class SubscriberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscriber

    email = factory.Sequence(lambda n: f"reader{n}@example.com")


def subscribe(subscriber, newsletter, status=Subscription.Status.CONFIRMED):
    """Give ``subscriber`` a subscription to ``newsletter`` in ``status``; return it."""
    from django.utils import timezone

    subscription = Subscription.objects.create(
        subscriber=subscriber,
        newsletter=newsletter,
        status=status,
        confirmed_at=timezone.now() if status == Subscription.Status.CONFIRMED else None,
        unsubscribed_at=timezone.now() if status == Subscription.Status.UNSUBSCRIBED else None,
    )
    subscriber.refresh_status()
    return subscription


def confirmed_readers(newsletter, *names):
    """Return new subscribers ``<name>@example.com`` confirmed for ``newsletter``."""
    readers = []
    for name in names:
        subscriber = SubscriberFactory(email=f"{name}@example.com")
        subscribe(subscriber, newsletter)
        readers.append(subscriber)
    return readers


class IssueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Issue

    newsletter = factory.SubFactory(NewsletterFactory)
    subject = factory.Sequence(lambda n: f"Morning briefing number {n}")
    preheader = "Five stories to start the day"
    intro = "<p>Good morning. Here is what matters today.</p>"
