"""What story cards show and link to: related stories, the home page's choice, addresses."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.template import Context, Template
from django.test import override_settings
from django.urls import reverse, set_script_prefix
from django.utils import timezone, translation

from articles.models import RELATED_STORIES, Article
from articles.templatetags.story import dateline
from tests.factories import ArticleFactory, AuthorFactory, SectionFactory, TagFactory

pytestmark = pytest.mark.django_db

HIDDEN_STATES = {
    "draft": {"status": Article.Status.DRAFT, "published_at": None},
    "scheduled": {
        "status": Article.Status.PUBLISHED,
        "published_at": timezone.now() + timedelta(days=1),
    },
    "withdrawn": {"status": Article.Status.WITHDRAWN},
}


def hours_ago(hours):
    return timezone.now() - timedelta(hours=hours)


def related_to(story):
    """Return the related stories of ``story`` as its page loads it."""
    return Article.objects.for_detail().get(pk=story.pk).related()


def card_headlines(html, heading_id):
    """Return the card headlines of the part of ``html`` after the heading ``heading_id``."""
    part = html.split(f'id="{heading_id}"')[1].split("</section>")[0].split("</aside>")[0]
    return re.findall(r'class="card-headline"><a href="[^"]*">([^<]*)</a>', part)


# Related stories ----------------------------------------------------------------------


def test_related_stories_share_the_most_tags_first_then_are_newest():
    elections, budget, council = TagFactory.create_batch(3)
    story = ArticleFactory(tags=[elections, budget, council])
    two_tags_old = ArticleFactory(tags=[elections, budget], published_at=hours_ago(300))
    one_tag_new = ArticleFactory(tags=[council], published_at=hours_ago(2))
    one_tag_newer = ArticleFactory(tags=[budget], published_at=hours_ago(1))
    same_section = ArticleFactory(section=story.section, published_at=hours_ago(3))
    ArticleFactory(published_at=hours_ago(1))  # nothing in common

    assert related_to(story) == [two_tags_old, one_tag_newer, one_tag_new, same_section]


def test_related_stories_fall_back_to_the_newest_of_the_section():
    section = SectionFactory()
    story = ArticleFactory(section=section)
    older, newer = (
        ArticleFactory(section=section, published_at=hours_ago(hours)) for hours in (5, 2)
    )
    ArticleFactory(published_at=hours_ago(1))

    assert related_to(story) == [newer, older]


@pytest.mark.parametrize("state", HIDDEN_STATES)
def test_related_stories_never_show_a_story_readers_cannot_see(state):
    tag = TagFactory()
    story = ArticleFactory(tags=[tag])
    hidden = ArticleFactory(tags=[tag], section=story.section, **HIDDEN_STATES[state])
    public = ArticleFactory(tags=[tag])

    related = related_to(story)

    assert hidden not in related
    assert related == [public]


def test_related_stories_never_show_the_story_itself():
    tag = TagFactory()
    story = ArticleFactory(tags=[tag])
    others = [ArticleFactory(tags=[tag], section=story.section) for _ in range(6)]

    related = related_to(story)

    assert story not in related
    assert len(related) == RELATED_STORIES
    assert set(related) <= set(others)


def test_story_with_neither_tags_nor_section_has_no_related_stories(django_assert_num_queries):
    story = ArticleFactory(section=None)
    ArticleFactory()
    loaded = Article.objects.for_detail().get(pk=story.pk)

    with django_assert_num_queries(0):
        assert loaded.related() == []


def test_related_story_cards_load_no_body(django_assert_num_queries):
    """Guard against cards loading each story's body, or a query per card for a column."""
    tag = TagFactory()
    story = ArticleFactory(tags=[tag])
    for _ in range(RELATED_STORIES):
        ArticleFactory(tags=[tag])
    loaded = Article.objects.for_detail().get(pk=story.pk)

    with django_assert_num_queries(1):
        related = loaded.related()
        for card in related:
            card.get_absolute_url(), card.headline, card.section.name, card.story_label

    assert all("body" in card.get_deferred_fields() for card in related)


def test_article_page_shows_its_related_stories(client):
    tag = TagFactory()
    story = ArticleFactory(tags=[tag])
    sharing = ArticleFactory(headline="Shares a tag", tags=[tag], section=SectionFactory())
    ArticleFactory(headline="Shares nothing", section=SectionFactory())

    html = client.get(story.get_absolute_url()).content.decode()

    assert card_headlines(html, "related-heading") == [sharing.headline]


# The home page --------------------------------------------------------------------------


def test_home_lists_the_newest_stories_of_each_section_after_the_top_stories(client):
    first = SectionFactory(name="Alpha", slug="alpha", order=1)
    second = SectionFactory(name="Beta", slug="beta", order=2)
    featured = ArticleFactory(section=second, featured=True, published_at=hours_ago(50))
    top = [ArticleFactory(section=first, published_at=hours_ago(hours)) for hours in range(1, 7)]
    in_first = [ArticleFactory(section=first, published_at=hours_ago(h)) for h in range(10, 15)]
    in_second = [ArticleFactory(section=second, published_at=hours_ago(h)) for h in range(20, 22)]
    ArticleFactory(section=first, status=Article.Status.DRAFT, published_at=None)

    html = client.get("/").content.decode()

    assert card_headlines(html, "top-stories-heading") == [
        story.headline for story in [featured, *top]
    ]
    assert card_headlines(html, "section-alpha") == [s.headline for s in in_first[:4]]
    assert card_headlines(html, "section-beta") == [s.headline for s in in_second]
    assert html.index('id="section-alpha"') < html.index('id="section-beta"')


# Addresses ----------------------------------------------------------------------------


@pytest.mark.parametrize("slug", ["council-votes", "café-crème", "日本語の記事", "under_score-2"])
def test_story_address_is_the_canonical_route(slug):
    story = ArticleFactory(slug=slug, published_at=datetime(2024, 3, 5, 23, 30, tzinfo=UTC))

    assert story.get_absolute_url() == reverse(
        "articles:article_detail",
        kwargs={"year": "2024", "month": "03", "day": "05", "slug": slug},
    )


@override_settings(TIME_ZONE="Asia/Tokyo")
def test_story_address_carries_the_date_in_the_site_zone():
    story = ArticleFactory(slug="late", published_at=datetime(2024, 3, 5, 23, 30, tzinfo=UTC))

    assert story.get_absolute_url() == "/2024/03/06/late/"


def test_story_address_follows_the_script_prefix():
    story = ArticleFactory(slug="prefixed", published_at=datetime(2024, 3, 5, 12, tzinfo=UTC))
    set_script_prefix("/news room/")
    try:
        assert story.get_absolute_url() == "/news%20room/2024/03/05/prefixed/"
        assert story.get_absolute_url() == reverse(
            "articles:article_detail",
            kwargs={"year": "2024", "month": "03", "day": "05", "slug": "prefixed"},
        )
    finally:
        set_script_prefix("/")


def test_every_card_links_the_canonical_address_of_its_story(client):
    section = SectionFactory(slug="sport")
    stories = [
        ArticleFactory(section=section, slug=f"café-{number}", published_at=hours_ago(number))
        for number in range(1, 12)
    ]
    canonical = {
        reverse(
            "articles:article_detail",
            kwargs={
                "year": f"{local:%Y}",
                "month": f"{local:%m}",
                "day": f"{local:%d}",
                "slug": story.slug,
            },
        )
        for story in stories
        for local in [timezone.localtime(story.published_at)]
    }

    for page in ("/", "/section/sport/"):
        html = client.get(page).content.decode()
        linked = set(re.findall(r'class="card-headline"><a href="([^"]*)"', html))
        assert linked == canonical

    for path in canonical:
        assert client.get(path).status_code == 200


def test_only_the_lead_story_has_the_lead_card(client):
    ArticleFactory(headline="The big one", featured=True)
    for hours in range(2, 12):
        ArticleFactory(published_at=hours_ago(hours))

    html = client.get("/").content.decode()

    assert html.count('<article class="story-card') == 11
    assert html.count("story-card--lead") == 1
    lead_card = html.split("story-card--lead", 1)[1].split("</article>", 1)[0]
    assert "The big one" in lead_card


# Dates ----------------------------------------------------------------------------------


@pytest.mark.parametrize("zone", ["GMT", "Europe/London", "Asia/Kolkata", "America/St_Johns"])
@pytest.mark.parametrize("language", ["en-gb", "fr", "ar"])
def test_card_dateline_reads_as_the_date_filter_writes_it(zone, language):
    template = Template('{{ value|date:"F jS, Y - H:i T" }}')
    moments = [
        datetime(2016, 12, 13, 12, 12, tzinfo=UTC) + timedelta(days=days, hours=hours)
        for days in range(0, 400, 13)
        for hours in (0, 7, 23)
    ]
    with override_settings(TIME_ZONE=zone), translation.override(language):
        for moment in moments:
            expected = template.render(Context({"value": moment}))
            assert dateline(timezone.localtime(moment)) == expected


# Bylines --------------------------------------------------------------------------------


def test_cards_show_each_storys_authors_in_byline_order(client):
    """Guard against cards' authors coming in another story's order, or twice."""
    first, second, third = (AuthorFactory(name=name) for name in ("Ann One", "Bob Two", "Cy Three"))
    ArticleFactory(headline="Story A", authors=[first, second, third], byline="AFP")
    ArticleFactory(headline="Story B", authors=[third, first], published_at=hours_ago(2))
    ArticleFactory(headline="Story C", authors=[second], published_at=hours_ago(3))

    html = client.get("/").content.decode()

    bylines = {
        headline: re.sub(r"<[^>]+>", "", byline)
        for headline, byline in re.findall(
            r'class="card-headline"><a href="[^"]*">([^<]*)</a>.*?<p class="byline">(.*?)</p>',
            html,
            re.S,
        )
    }
    assert bylines == {
        "Story A": "Ann One, Bob Two, Cy Three and AFP",
        "Story B": "Cy Three and Ann One",
        "Story C": "Bob Two",
    }
