import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from articles.models import Article
from photos.models import Photo

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
