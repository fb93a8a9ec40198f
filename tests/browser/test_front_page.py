"""An editor arranges the home page in the real admin; a reader sees it only once published."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.browser.signing_in import choose_autocomplete, log_in
from tests.factories import ArticleFactory, SectionFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

# Newest first, with no word in common, so that the story search finds each one alone.
HEADLINES = [
    "Storm closes the coast road",
    "Harbour budget approved after long night",
    "Rail strike called off",
    "Museum reopens its west wing",
    "Schools prepare for winter exams",
    "Farmers count cost of drought",
]


@pytest.fixture
def stories(db):
    """Six public stories, the newest first, an hour apart, across two sections."""
    loop = SectionFactory(name="The Loop", slug="the-loop", order=1)
    world = SectionFactory(name="World", slug="world", order=2)
    now = timezone.now()
    return [
        ArticleFactory(
            headline=headline,
            section=world if number % 2 else loop,
            published_at=now - timedelta(hours=number + 1),
        )
        for number, headline in enumerate(HEADLINES)
    ]


def lead_headline(page):
    """Return the headline of the story leading the home page."""
    return page.locator(".story-card--lead .card-headline").inner_text()


def top_headlines(page):
    """Return the headlines at the top of the home page in page order: the lead, then the rest."""
    return page.locator(".home-top .card-headline").all_inner_texts()


def test_editor_arranges_previews_and_publishes_the_front_page(live_server, browser, stories):
    UserFactory(username="ed", first_name="Ed", last_name="Itor", role="Editor")
    newest, lead, first, second = stories[0], stories[4], stories[5], stories[2]
    arranged = [lead.headline, first.headline, second.headline]
    base = live_server.url

    reader = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    reader.goto(base + "/")
    assert lead_headline(reader) == newest.headline

    editor = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
    log_in(editor, base, "ed")
    editor.locator("tr.model-frontpage").get_by_role("link", name="Front page").click()
    editor.wait_for_url(re.compile(r".*/admin/frontpage/frontpage/\d+/change/$"))

    choose_autocomplete(editor, "lead", lead.headline)
    # The order comes from the positions, not from the rows they are typed in.
    choose_autocomplete(editor, "top_stories-0-article", second.headline)
    editor.locator("#id_top_stories-0-position").fill("2")
    choose_autocomplete(editor, "top_stories-1-article", first.headline)
    editor.locator("#id_top_stories-1-position").fill("1")
    editor.get_by_role("button", name="Save draft").click()
    editor.wait_for_url(re.compile(r".*/admin/frontpage/frontpage/\d+/change/$"))
    assert "The draft is saved" in editor.locator(".messagelist").inner_text()

    with editor.context.expect_page() as opened:
        editor.get_by_role("link", name="Preview the draft").click()
    preview = opened.value
    preview.wait_for_load_state()
    assert "FRONT PAGE PREVIEW" in preview.locator(".preview-banner").inner_text()
    assert top_headlines(preview)[:3] == arranged
    preview.close()

    reader.reload()
    assert lead_headline(reader) == newest.headline  # a draft changes nothing for readers

    editor.get_by_role("button", name="Save and publish").click()
    editor.wait_for_url(re.compile(r".*/admin/frontpage/frontpage/revisions/$"))
    assert "The front page is published" in editor.locator(".messagelist").inner_text()

    reader.reload()
    assert top_headlines(reader)[:3] == arranged
    assert "FRONT PAGE PREVIEW" not in reader.content()

    editor.goto(base + f"/admin/articles/article/{lead.pk}/change/")
    editor.get_by_role("button", name="Withdraw from the site").click()
    editor.wait_for_url(re.compile(r".*/admin/articles/article/\d+/change/$"))
    assert "Withdrawn" in editor.locator(".messagelist").inner_text()

    reader.reload()
    assert lead_headline(reader) == newest.headline
    assert lead.headline not in reader.locator("main").inner_text()
    assert top_headlines(reader)[1:3] == [first.headline, second.headline]
