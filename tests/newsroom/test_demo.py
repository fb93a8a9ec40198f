import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from reversion.models import Version

from articles.models import Article
from photos.models import Photo
from publication.models import SiteSettings

pytestmark = pytest.mark.django_db


def test_demo_content_loads_the_seed_story_once_however_often_it_runs(settings, capsys):
    settings.DEBUG = True

    call_command("load_demo")
    call_command("load_demo")

    story = Article.objects.published().get()
    assert story.headline.startswith("Aleppo residents tweet harrowing goodbyes")
    assert story.section.name == "The Loop"
    assert story.byline == "AM"
    assert Photo.objects.count() == 1
    assert "PLACEHOLDER" in story.lead_photo.title
    assert story.lead_photo.caption == "Syrian pro-government forces in Aleppo."
    assert story.lead_photo.credit == "AFP/File"
    users = get_user_model().objects.order_by("username")
    assert [user.username for user in users] == ["admin", "audience", "editor", "reporter"]
    assert users.get(username="editor").has_perm("articles.publish_article")
    assert not users.get(username="reporter").has_perm("articles.publish_article")
    assert "reporter-demo" in capsys.readouterr().out


def test_demo_passwords_are_neither_set_nor_printed_without_debug(settings, capsys):
    settings.DEBUG = False

    call_command("load_demo")

    assert not get_user_model().objects.get(username="editor").has_usable_password()
    output = capsys.readouterr().out
    assert "editor-demo" not in output
    assert "changepassword" in output


def test_running_the_demo_again_keeps_edits_made_to_the_demo_story(settings):
    settings.DEBUG = True
    call_command("load_demo")
    Article.objects.update(headline="Edited in the admin")

    call_command("load_demo")

    assert Article.objects.get().headline == "Edited in the admin"


def every_row():
    """Return every row of every table, keyed by model, as the database holds them."""
    return {
        model._meta.label: list(model._base_manager.order_by("pk").values())
        for model in apps.get_models(include_auto_created=True)
    }


def test_running_the_demo_again_writes_nothing(
    settings, media_root, django_capture_on_commit_callbacks
):
    settings.DEBUG = True
    with django_capture_on_commit_callbacks(execute=True):
        call_command("load_demo")
    story = Article.objects.get()
    rows, files = every_row(), sorted(media_root.rglob("*"))
    assert Version.objects.get_for_object(story).count() == 1
    assert rows["photos.Rendition"], "the demo photo has its resized copies"

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        call_command("load_demo")

    assert every_row() == rows
    assert callbacks == [], "nothing purged or queued"
    assert sorted(media_root.rglob("*")) == files


def test_running_the_demo_again_keeps_what_editors_changed_around_the_story(settings):
    settings.DEBUG = True
    call_command("load_demo")
    site_settings = SiteSettings.load()
    site_settings.twitter_url = site_settings.facebook_url = ""
    site_settings.save()
    Photo.objects.update(title="Aleppo, grey stand-in")
    reporter = get_user_model().objects.get(username="reporter")
    reporter.groups.clear()

    call_command("load_demo")

    site_settings.refresh_from_db()
    assert site_settings.twitter_url == site_settings.facebook_url == ""
    assert Photo.objects.get().title == "Aleppo, grey stand-in"
    assert not reporter.groups.exists()
