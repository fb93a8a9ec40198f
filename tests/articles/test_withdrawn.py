"""A withdrawn story is Gone only where readers saw it; one that never went live was never here."""

from datetime import timedelta

import pytest
import reversion
from django.utils import timezone

from articles.models import Article
from articles.services import article_withdraw
from tests.factories import ArticleFactory, UserFactory

pytestmark = pytest.mark.django_db

HEADLINE = "Minister resigns over leaked memo"


@pytest.fixture
def editor():
    return UserFactory(username="ed", role="Editor")


def withdraw(story, editor):
    """Withdraw ``story`` as the admin's Withdraw button does, recording a revision."""
    article_withdraw(article=story, user=editor)


def other_date_url(story):
    earlier = story.published_at - timedelta(days=400)
    return f"/{earlier:%Y/%m/%d}/{story.slug}/"


def test_story_withdrawn_after_going_live_is_gone_at_its_own_address(client, editor):
    story = ArticleFactory(headline=HEADLINE)
    withdraw(story, editor)

    response = client.get(story.get_absolute_url())

    assert response.status_code == 410
    assert "This story has been withdrawn" in response.content.decode()


def test_withdrawn_story_is_not_found_at_any_other_date(client, editor):
    story = ArticleFactory(headline=HEADLINE)
    withdraw(story, editor)

    response = client.get(other_date_url(story))

    assert response.status_code == 404
    assert HEADLINE not in response.content.decode()


def test_story_withdrawn_before_its_scheduled_time_is_never_found(client, editor, time_machine):
    story = ArticleFactory(headline=HEADLINE, published_at=timezone.now() + timedelta(days=2))
    withdraw(story, editor)

    before = client.get(story.get_absolute_url())
    time_machine.move_to(story.published_at + timedelta(days=1))
    after = client.get(story.get_absolute_url())

    assert before.status_code == 404
    assert after.status_code == 404
    assert HEADLINE not in before.content.decode() + after.content.decode()


def test_editing_a_never_published_withdrawn_story_keeps_it_unknown(client, editor, time_machine):
    story = ArticleFactory(headline=HEADLINE, published_at=timezone.now() + timedelta(days=2))
    withdraw(story, editor)
    time_machine.move_to(story.published_at + timedelta(days=1))
    with reversion.create_revision():
        story.dek = "A standfirst written after the withdrawal."
        story.save()

    response = client.get(story.get_absolute_url())

    assert response.status_code == 404
    assert HEADLINE not in response.content.decode()


def test_story_withdrawn_without_a_revision_before_its_time_is_never_found(client, time_machine):
    story = ArticleFactory(headline=HEADLINE, published_at=timezone.now() + timedelta(days=2))
    story.status = Article.Status.WITHDRAWN
    story.save()
    time_machine.move_to(story.published_at + timedelta(days=1))

    response = client.get(story.get_absolute_url())

    assert response.status_code == 404
    assert HEADLINE not in response.content.decode()


def test_story_withdrawn_without_a_revision_after_going_live_is_gone(client):
    story = ArticleFactory(headline=HEADLINE)
    story.status = Article.Status.WITHDRAWN
    story.save()

    assert client.get(story.get_absolute_url()).status_code == 410


def test_editing_a_story_withdrawn_before_its_time_never_reveals_it(client, time_machine):
    """Guards the guess that took the last save for the withdrawal when no revision said."""
    story = ArticleFactory(headline=HEADLINE, published_at=timezone.now() + timedelta(days=2))
    story.status = Article.Status.WITHDRAWN
    story.save()
    time_machine.move_to(story.published_at + timedelta(days=30))
    story.dek = "Legal asked for the standfirst to change."
    story.save()

    response = client.get(story.get_absolute_url())

    assert response.status_code == 404
    assert HEADLINE not in response.content.decode()


def test_returning_a_withdrawn_story_to_draft_clears_its_withdrawal():
    story = ArticleFactory(status=Article.Status.WITHDRAWN)
    assert story.withdrawn_at is not None

    story.status = Article.Status.DRAFT
    story.save()

    assert story.withdrawn_at is None


def test_old_address_of_a_public_story_still_redirects(client):
    story = ArticleFactory(published_at=timezone.now() - timedelta(days=3))
    old_url = story.get_absolute_url()
    story.published_at = timezone.now() - timedelta(hours=1)
    story.save()

    response = client.get(old_url)

    assert response.status_code == 301
    assert response["Location"] == story.get_absolute_url()


def test_old_address_with_an_arabic_slug_still_redirects(client):
    story = ArticleFactory(slug="سكان-حلب-يودعون")
    old_url = story.get_absolute_url()
    story.slug = "سكان-حلب"
    story.save()

    response = client.get(old_url)

    assert response.status_code == 301
    assert response["Location"] == story.get_absolute_url()


def test_withdrawn_story_with_an_arabic_slug_is_gone_at_its_own_address(client, editor):
    story = ArticleFactory(slug="سكان-حلب-يودعون")
    withdraw(story, editor)

    assert client.get(story.get_absolute_url()).status_code == 410
