"""One walk over every public surface for each state a story can hide in."""

from datetime import timedelta

import pytest
from django.utils import timezone

from articles.models import Article
from tests.factories import ArticleFactory, CorrectionFactory

pytestmark = pytest.mark.django_db

HIDDEN_STATES = {
    "draft": {"status": Article.Status.DRAFT, "published_at": None},
    "review": {"status": Article.Status.REVIEW, "published_at": None},
    "scheduled": {"published_at": timezone.now() + timedelta(days=1)},
    "withdrawn": {"status": Article.Status.WITHDRAWN},
}


@pytest.mark.parametrize("state", HIDDEN_STATES, ids=list(HIDDEN_STATES))
def test_hidden_story_appears_on_no_public_surface(client, newsroom, state):
    section, author, tag = newsroom["section"], newsroom["authors"][0], newsroom["tags"][0]
    visible = ArticleFactory(section=section, authors=[author], tags=[tag])
    hidden = ArticleFactory(
        headline="Xylophone secret budget plans",
        body="<p>Xylophone secret body.</p>",
        section=section,
        authors=[author],
        tags=[tag],
        **HIDDEN_STATES[state],
    )
    CorrectionFactory(article=hidden, text="Xylophone hidden correction.")
    surfaces = [
        "/",
        section.get_absolute_url(),
        tag.get_absolute_url(),
        author.get_absolute_url(),
        visible.get_absolute_url(),
        "/corrections/",
        "/search/?q=xylophone",
        "/feeds/latest/",
        f"/section/{section.slug}/feed/",
        f"/author/{author.slug}/feed/",
        "/sitemap.xml",
        "/sitemap-articles.xml",
        "/news-sitemap.xml",
    ]

    for url in surfaces:
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        assert "Xylophone" not in body and hidden.slug not in body, url
    assert client.get(hidden.get_absolute_url()).status_code in (404, 410)
