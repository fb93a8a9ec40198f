"""Each change purges exactly the pages that show it, in the old state and the new.

Through the real front (conftest.py): a page is cached, the change is committed, then the
page must show the change within a second while pages the change does not touch are
still served from the cache.
"""

import subprocess
import sys
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.utils import timezone

from articles.models import Article
from articles.services import article_publish, article_restore_version
from frontpage.services import front_page_draft, front_page_publish
from publication.models import SiteSettings
from tests.factories import (
    SEED,
    ArticleFactory,
    AuthorFactory,
    PhotoFactory,
    SectionFactory,
    TagFactory,
    UserFactory,
    image_bytes,
)
from tests.frontcache.front_servers import ROOT, cached, shows_within_a_second


@pytest.fixture
def desk(front):
    """Two sections with a story each, and a third section nothing here touches."""
    loop = SectionFactory(name="The Loop", slug="the-loop")
    world = SectionFactory(name="World", slug="world")
    sport = SectionFactory(name="Sport", slug="sport")
    return {
        "loop": loop,
        "world": world,
        "sport": sport,
        "story": ArticleFactory(headline="Aleppo residents tweet goodbyes", section=loop),
        "other": ArticleFactory(headline="Regatta returns to the harbour", section=sport),
    }


def still_cached(front, *paths):
    return {path: front.get(path).cache for path in paths} == {path: "HIT" for path in paths}


def test_a_story_moved_to_another_section_leaves_one_listing_and_joins_the_other(front, desk):
    story = desk["story"]
    for path in ("/section/the-loop/", "/section/world/", "/section/sport/"):
        cached(front, path)

    story.section = desk["world"]
    story.save()

    assert shows_within_a_second(front, "/section/the-loop/", story.headline, present=False)
    assert shows_within_a_second(front, "/section/world/", story.headline)
    assert still_cached(front, "/section/sport/")


def test_a_caption_edit_reaches_every_story_showing_the_photo(front, desk):
    photo = PhotoFactory(caption="Forces in Aleppo.")
    story = desk["story"]
    story.lead_photo = photo
    story.save()
    second = ArticleFactory(section=desk["world"], lead_photo=photo)
    for path in (story.get_absolute_url(), second.get_absolute_url()):
        assert "Forces in Aleppo." in cached(front, path).text
    cached(front, desk["other"].get_absolute_url())

    photo.caption = "Pro-government forces in eastern Aleppo."
    photo.save()

    for path in (story.get_absolute_url(), second.get_absolute_url()):
        assert shows_within_a_second(front, path, "Pro-government forces in eastern Aleppo.")
    assert still_cached(front, desk["other"].get_absolute_url())


def test_new_renditions_from_the_task_worker_reach_the_page(front, desk, settings):
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "photos"]}
    }
    photo = PhotoFactory(image=ContentFile(image_bytes(width=1600, height=900), name="a.jpg"))
    story = desk["story"]
    story.lead_photo = photo
    story.save()
    assert "/renditions/" not in cached(front, story.get_absolute_url()).text

    call_command(
        "db_worker", queue_name="photos", batch=True, reload=False, startup_delay=False,
        verbosity=0,
    )  # fmt: skip

    assert shows_within_a_second(front, story.get_absolute_url(), "/renditions/")


def test_site_settings_reach_every_page(front, desk):
    paths = ["/", desk["story"].get_absolute_url(), "/section/sport/", "/feeds/latest/"]
    for path in paths:
        cached(front, path)

    site_settings = SiteSettings.load()
    site_settings.site_name = "The Aleppo Courier"
    site_settings.save()

    for path in paths:
        assert shows_within_a_second(front, path, "The Aleppo Courier"), path


def test_a_renamed_section_changes_the_navigation_of_every_page(front, desk):
    paths = ["/", desk["other"].get_absolute_url()]
    for path in paths:
        cached(front, path)

    desk["world"].name = "Around the world"
    desk["world"].save()

    for path in paths:
        assert shows_within_a_second(front, path, "Around the world"), path


def test_a_tag_taken_off_a_story_drops_it_from_that_tag_only(front, desk):
    story = desk["story"]
    syria, aleppo = TagFactory(name="Syria", slug="syria"), TagFactory(name="Aleppo", slug="aleppo")
    story.tags.set([syria, aleppo])
    for path in ("/tag/syria/", "/tag/aleppo/"):
        assert story.headline in cached(front, path).text

    story.tags.remove(syria)

    assert shows_within_a_second(front, "/tag/syria/", story.headline, present=False)
    assert still_cached(front, "/tag/aleppo/")


def test_a_byline_change_moves_the_story_between_author_pages(front, desk):
    story = desk["story"]
    before, after = AuthorFactory(slug="amal"), AuthorFactory(slug="zeina")
    story.bylines.create(author=before)
    unrelated = AuthorFactory(slug="omar")
    desk["other"].bylines.create(author=unrelated)
    for path in ("/author/amal/", "/author/zeina/", "/author/omar/"):
        cached(front, path)

    story.bylines.all().delete()
    story.bylines.create(author=after)

    assert shows_within_a_second(front, "/author/amal/", story.headline, present=False)
    assert shows_within_a_second(front, "/author/zeina/", story.headline)
    assert still_cached(front, "/author/omar/")


def test_restoring_earlier_bylines_reaches_the_author_pages(front, desk):
    import reversion

    story, editor = desk["story"], UserFactory(role="Editor")
    first, second = AuthorFactory(slug="amal"), AuthorFactory(slug="zeina")
    with reversion.create_revision():
        story.bylines.create(author=first)
        story.save()
    version = reversion.models.Version.objects.get_for_object(story).first()
    with reversion.create_revision():
        story.bylines.all().delete()
        story.bylines.create(author=second)
        story.save()
    assert story.headline not in cached(front, "/author/amal/").text

    article_restore_version(article=story, version=version, user=editor)

    assert shows_within_a_second(front, "/author/amal/", story.headline)
    assert shows_within_a_second(front, "/author/zeina/", story.headline, present=False)


def test_stories_published_together_all_reach_the_home_page(front, desk):
    drafts = [
        ArticleFactory(
            headline=f"Breaking: update {number}", byline="AM", status=Article.Status.DRAFT
        )
        for number in range(3)
    ]
    cached(front, "/")
    editor = UserFactory(role="Editor")

    for draft in drafts:
        article_publish(article=draft, user=editor)

    for draft in drafts:
        assert shows_within_a_second(front, "/", draft.headline)


def test_saving_a_draft_purges_nothing(front, desk):
    draft = ArticleFactory(headline="Not yet", status=Article.Status.DRAFT, section=desk["loop"])
    paths = ["/", "/section/the-loop/", desk["story"].get_absolute_url()]
    for path in paths:
        cached(front, path)

    for word in ("Not", "yet", "ready"):
        draft.body += f"<p>{word}</p>"
        draft.save()

    assert still_cached(front, *paths)


def test_a_deleted_story_leaves_the_front_at_once(front, desk):
    story = desk["story"]
    path = story.get_absolute_url()
    cached(front, path)
    cached(front, "/")

    story.delete()

    assert front.get(path).status == 404  # hard purge: not even one stale copy
    assert story.headline not in front.get("/").text


def test_a_story_put_back_to_a_later_time_leaves_the_front_at_once(front, desk):
    story = desk["story"]
    path = story.get_absolute_url()
    cached(front, path)

    story.published_at = timezone.now() + timedelta(days=1)
    story.save()

    assert front.get(story.get_absolute_url()).status == 404
    assert front.get(path).status == 404


def test_a_reimport_from_the_command_line_reaches_the_story_page(front, desk, tmp_path):
    source = tmp_path / "story.txt"
    source.write_text(SEED.read_text())
    import_story = [sys.executable, "manage.py", "import_article", str(source), "--publish"]
    run = {"cwd": ROOT, "env": front.environment, "check": True, "capture_output": True}
    subprocess.run(import_story, **run, timeout=60)
    story = Article.objects.get(import_key="story")
    original = story.headline
    assert original in cached(front, story.get_absolute_url()).text

    source.write_text(SEED.read_text().replace(original, "Aleppo residents say goodbye", 1))
    subprocess.run([*import_story, "--force"], **run, timeout=60)

    assert shows_within_a_second(front, story.get_absolute_url(), "Aleppo residents say goodbye")


def test_publishing_the_front_page_reaches_the_home_page_only(front, desk):
    editor = UserFactory(role="Editor")
    lead = ArticleFactory(
        headline="Harbour ferry fares rise",
        section=desk["sport"],
        published_at=timezone.now() - timedelta(days=30),
    )
    story_path = desk["story"].get_absolute_url()
    for path in ("/", story_path, "/section/sport/"):
        cached(front, path)

    draft = front_page_draft(user=editor)
    draft.lead = lead
    draft.save()
    front_page_publish(front_page=draft, user=editor)

    assert shows_within_a_second(front, "/", "Harbour ferry fares rise")
    assert still_cached(front, story_path, "/section/sport/")
