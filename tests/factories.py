import io
from datetime import timedelta
from pathlib import Path

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image

from articles.models import Article, ArticleAuthor, Author, Correction, Section, Tag
from newsletter.models import Issue, Newsletter, Subscriber, Subscription
from photos.models import Photo


def image_bytes(*, width=640, height=360, format="JPEG", color=(120, 130, 140)):
    """Return the bytes of a real, small image in ``format``."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format=format)
    return buffer.getvalue()


# The reference story (a real published article), as the demo content ships it.
SEED = Path(__file__).resolve().parents[1] / "newsroom" / "demo" / "000_b29aaeb6f4026fa3.txt"

PASSWORD = "correct horse battery"  # every factory user's, for tests that log in with it


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.org")
    is_staff = True
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(Group.objects.get(name=extracted))
        if create:
            self.save()


class SectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Section
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Section {n}")
    slug = factory.Sequence(lambda n: f"section-{n}")


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag

    name = factory.Sequence(lambda n: f"Tag {n}")
    slug = factory.Sequence(lambda n: f"tag-{n}")


class AuthorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Author

    name = factory.Sequence(lambda n: f"Reporter Number {n}")
    slug = factory.Sequence(lambda n: f"reporter-{n}")
    initials = "RN"


class PhotoFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Photo

    image = factory.LazyFunction(lambda: ContentFile(image_bytes(), name="photo.jpg"))
    caption = "Syrian pro-government forces in Aleppo."
    credit = "AFP/File"
    alt_text = "Soldiers standing in a ruined street"


class ArticleFactory(factory.django.DjangoModelFactory):
    """A published story by default; pass ``status`` for the other states."""

    class Meta:
        model = Article
        skip_postgeneration_save = True

    headline = factory.Sequence(lambda n: f"Story number {n} from the newsroom")
    dek = "A short standfirst that says why the story matters."
    body = "<p>First paragraph of the story.</p><p>Second paragraph of the story.</p>"
    section = factory.SubFactory(SectionFactory)
    status = Article.Status.PUBLISHED
    published_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))

    @factory.post_generation
    def authors(self, create, extracted, **kwargs):
        if create and extracted:
            for position, author in enumerate(extracted):
                ArticleAuthor.objects.create(article=self, author=author, position=position)

    @factory.post_generation
    def tags(self, create, extracted, **kwargs):
        if create and extracted:
            self.tags.set(extracted)


class CorrectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Correction

    article = factory.SubFactory(ArticleFactory)
    text = "An earlier version gave the wrong number of civilians."


def photo_with_renditions(**kwargs):
    """Return a library photo whose renditions exist, as after the worker has run."""
    from photos.services import photo_build_renditions

    photo = PhotoFactory(**kwargs)
    photo_build_renditions(photo=photo)
    return photo


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
