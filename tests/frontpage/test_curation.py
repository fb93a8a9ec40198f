"""Editors arrange the home page; readers see only a published arrangement's public stories."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from articles.models import Article
from articles.services import article_withdraw
from frontpage.models import FrontPage
from publication.models import SiteSettings
from tests.factories import ArticleFactory, SectionFactory, UserFactory

pytestmark = pytest.mark.django_db

FRONT_PAGE_URL = "/admin/frontpage/frontpage/"


@pytest.fixture
def editor():
    return UserFactory(username="ed", first_name="Ed", last_name="Itor", role="Editor")


@pytest.fixture
def stories(django_capture_on_commit_callbacks):
    """Eight public stories, the newest first, across two sections.

    Made with their on-commit work done, as it is outside a test's transaction: a purge
    left pending would hold later ones back.
    """
    with django_capture_on_commit_callbacks(execute=True):
        SiteSettings.load()
        return make_stories()


def make_stories():
    loop = SectionFactory(name="The Loop", slug="the-loop", order=1)
    world = SectionFactory(name="World", slug="world", order=2)
    now = timezone.now()
    return [
        ArticleFactory(
            headline=f"Story {number}",
            section=loop if number % 2 else world,
            published_at=now - timedelta(hours=number + 1),
        )
        for number in range(8)
    ]


def headlines_in_order(html, headlines):
    """Return ``headlines`` in the order they first appear in ``html``."""
    found = {headline: html.find(f">{headline}<") for headline in headlines}
    return [headline for headline, at in sorted(found.items(), key=lambda item: item[1]) if at >= 0]


def open_draft(client):
    response = client.get(FRONT_PAGE_URL)
    assert response.status_code == 302
    match = re.search(r"/frontpage/frontpage/(\d+)/change/", response["Location"])
    return FrontPage.objects.get(pk=match.group(1))


def arrangement(draft, *, lead, top=(), sections=(), button="_save", **fields):
    """Return the form a browser sends to replace the draft's lead, top stories and sections."""
    kept_stories = list(draft.top_stories.all())
    kept_sections = list(draft.section_order.all())
    data = {
        "lead": lead.pk if lead else "",
        "breaking_text": "",
        "breaking_url": "",
        "breaking_expires_at_0": "",
        "breaking_expires_at_1": "",
        "top_stories-TOTAL_FORMS": str(len(kept_stories) + len(top)),
        "top_stories-INITIAL_FORMS": str(len(kept_stories)),
        "top_stories-MIN_NUM_FORMS": "0",
        "top_stories-MAX_NUM_FORMS": "1000",
        "section_order-TOTAL_FORMS": str(len(kept_sections) + len(sections)),
        "section_order-INITIAL_FORMS": str(len(kept_sections)),
        "section_order-MIN_NUM_FORMS": "0",
        "section_order-MAX_NUM_FORMS": "1000",
        button: "1",
        **fields,
    }
    # Rows already there are removed (ticked for deletion), then the new order added.
    for prefix, field, kept, chosen in [
        ("top_stories", "article", kept_stories, top),
        ("section_order", "section", kept_sections, sections),
    ]:
        for index, row in enumerate(kept):
            data[f"{prefix}-{index}-id"] = row.pk
            data[f"{prefix}-{index}-front_page"] = draft.pk
            data[f"{prefix}-{index}-{field}"] = getattr(row, field + "_id")
            data[f"{prefix}-{index}-position"] = row.position
            data[f"{prefix}-{index}-DELETE"] = "on"
        for offset, item in enumerate(chosen):
            index = len(kept) + offset
            data[f"{prefix}-{index}-{field}"] = item.pk
            data[f"{prefix}-{index}-position"] = offset
    return data


def change_url(front_page):
    return f"{FRONT_PAGE_URL}{front_page.pk}/change/"


def test_editor_sets_the_lead_and_order_previews_then_publishes(
    client, editor, stories, django_capture_on_commit_callbacks
):
    client.force_login(editor)
    draft = open_draft(client)
    lead, first, second = stories[5], stories[6], stories[3]

    saved = client.post(change_url(draft), arrangement(draft, lead=lead, top=[first, second]))
    assert saved.status_code == 302
    preview = client.get(f"{FRONT_PAGE_URL}{draft.pk}/preview/").content.decode()
    before = client.get("/").content.decode()

    names = [lead.headline, first.headline, second.headline]
    assert headlines_in_order(preview, names) == names
    assert "FRONT PAGE PREVIEW" in preview
    assert headlines_in_order(before, names) != names  # readers still see the newest first

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            change_url(draft),
            arrangement(draft, lead=lead, top=[first, second], button="_publish"),
        )
    client.logout()
    after = client.get("/").content.decode()
    assert headlines_in_order(after, names) == names


def test_a_lead_that_is_no_longer_public_gives_way_to_the_newest_story(
    client, editor, stories, django_capture_on_commit_callbacks
):
    client.force_login(editor)
    draft = open_draft(client)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(change_url(draft), arrangement(draft, lead=stories[5], button="_publish"))
    names = [story.headline for story in stories]
    led = headlines_in_order(client.get("/").content.decode(), names)[0]

    with django_capture_on_commit_callbacks(execute=True):
        article_withdraw(article=stories[5], user=editor)
    client.logout()
    html = client.get("/").content.decode()

    assert led == stories[5].headline
    assert stories[5].headline not in html
    assert headlines_in_order(html, names)[0] == stories[0].headline


@pytest.mark.parametrize(
    "state",
    [
        {"status": Article.Status.DRAFT, "published_at": None},
        {"published_at": timezone.now() + timedelta(days=1)},
    ],
    ids=["unpublished", "scheduled"],
)
def test_a_pinned_story_that_is_not_public_never_leaks(client, editor, stories, state):
    hidden = ArticleFactory(headline="Not for readers yet", **state)
    client.force_login(editor)
    draft = open_draft(client)
    client.post(change_url(draft), arrangement(draft, lead=hidden, top=[hidden], button="_publish"))
    client.logout()

    html = client.get("/").content.decode()

    assert "Not for readers yet" not in html
    assert stories[0].headline in html


def test_only_editors_can_arrange_the_front_page(client, stories):
    draft = FrontPage.objects.create()
    for role in ("Reporter", "Audience"):
        client.force_login(UserFactory(role=role))
        assert client.get(FRONT_PAGE_URL).status_code == 403
        assert client.get(change_url(draft)).status_code == 403
        response = client.post(
            change_url(draft), arrangement(draft, lead=stories[3], button="_publish")
        )
        assert response.status_code == 403
        assert client.post(f"{FRONT_PAGE_URL}{draft.pk}/restore/").status_code in (403, 404)
    assert not FrontPage.objects.published().exists()


def publish(client, draft, django_capture_on_commit_callbacks, **kwargs):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(change_url(draft), arrangement(draft, button="_publish", **kwargs))
    assert response.status_code == 302, response.content.decode()[:2000]
    return response


def test_sections_follow_the_editors_order(
    client, editor, stories, django_capture_on_commit_callbacks
):
    """The first stories below the top ones are in the sections' blocks, Loop then World."""
    with django_capture_on_commit_callbacks(execute=True):
        loop_story = ArticleFactory(
            section=stories[1].section, published_at=timezone.now() - timedelta(days=2)
        )
        world_story = ArticleFactory(
            section=stories[0].section, published_at=timezone.now() - timedelta(days=3)
        )
    names = [loop_story.headline, world_story.headline]
    client.force_login(editor)
    before = client.get("/").content.decode()
    publish(client, open_draft(client), django_capture_on_commit_callbacks, lead=None,
            sections=[world_story.section])  # fmt: skip
    after = client.get("/").content.decode()

    assert headlines_in_order(before, names) == names  # the sections' own order
    assert headlines_in_order(after, names) == names[::-1]


def test_breaking_news_shows_until_it_ends_and_the_page_is_kept_no_longer(
    client, editor, stories, django_capture_on_commit_callbacks, time_machine
):
    time_machine.move_to(timezone.now(), tick=False)
    ends = timezone.localtime(timezone.now() + timedelta(minutes=30))
    client.force_login(editor)
    publish(
        client,
        open_draft(client),
        django_capture_on_commit_callbacks,
        lead=None,
        breaking_text="Polls close in Aleppo at 20:00",
        breaking_url="/2016/12/13/aleppo/",
        breaking_expires_at_0=ends.strftime("%Y-%m-%d"),
        breaking_expires_at_1=ends.strftime("%H:%M:%S"),
    )
    client.logout()

    during = client.get("/")
    time_machine.move_to(ends + timedelta(seconds=1), tick=False)
    after = client.get("/")

    assert "Polls close in Aleppo at 20:00" in during.content.decode()
    front_seconds = int(during["Surrogate-Control"].split("max-age=")[1].split(",")[0])
    assert 0 < front_seconds <= 30 * 60 + 1
    assert "Polls close in Aleppo" not in after.content.decode()


def test_a_breaking_news_link_must_be_on_the_web_or_on_the_site(client, editor, stories):
    client.force_login(editor)
    draft = open_draft(client)

    response = client.post(
        change_url(draft),
        arrangement(draft, lead=None, breaking_text="Breaking", breaking_url="javascript:alert(1)"),
    )

    assert response.status_code == 200
    assert "Enter a valid URL" in response.content.decode()
    draft.refresh_from_db()
    assert draft.breaking_url == ""


def test_a_published_arrangement_can_be_restored_and_published_again(
    client, editor, stories, django_capture_on_commit_callbacks
):
    client.force_login(editor)
    publish(client, open_draft(client), django_capture_on_commit_callbacks, lead=stories[6])
    first = FrontPage.objects.published().get()
    publish(client, open_draft(client), django_capture_on_commit_callbacks, lead=stories[4])
    revisions = client.get(f"{FRONT_PAGE_URL}revisions/").content.decode()

    restored = client.post(f"{FRONT_PAGE_URL}{first.pk}/restore/", follow=True)
    draft = FrontPage.objects.get(state=FrontPage.State.DRAFT)
    publish(client, draft, django_capture_on_commit_callbacks, lead=draft.lead)
    html = client.get("/").content.decode()

    assert revisions.count("Restore into the draft") == 2
    assert restored.status_code == 200 and draft.lead == stories[6]
    assert headlines_in_order(html, [s.headline for s in stories])[0] == stories[6].headline
    assert FrontPage.objects.published().count() == 3


def test_home_page_queries_do_not_grow_with_an_arrangement(
    client, editor, stories, django_capture_on_commit_callbacks, django_assert_num_queries
):
    """Guards against loading pinned stories one by one, or the arrangement on every view."""
    client.force_login(editor)
    publish(client, open_draft(client), django_capture_on_commit_callbacks,
            lead=stories[7], top=stories[3:6], sections=[stories[0].section])  # fmt: skip
    client.logout()
    client.get("/")  # the live plan and the site settings are cached from here on

    with django_assert_num_queries(4):  # candidates, pinned ones public, stories, bylines
        client.get("/")
