from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import ArticleFactory, AuthorFactory, PhotoFactory, SectionFactory, TagFactory


def make_stories(count, *, section, tags, authors, photo):
    return [
        ArticleFactory(
            section=section,
            tags=tags,
            authors=authors,
            lead_photo=photo,
            published_at=timezone.now() - timedelta(hours=number + 1),
        )
        for number in range(count)
    ]


@pytest.fixture
def newsroom():
    section = SectionFactory(name="The Loop", slug="the-loop", description="Viral news.")
    tags = TagFactory.create_batch(2)
    authors = [AuthorFactory(name="Zeina Haddad", slug="zeina", bio="Covers Syria.")]
    return {"section": section, "tags": tags, "authors": authors, "photo": PhotoFactory()}
