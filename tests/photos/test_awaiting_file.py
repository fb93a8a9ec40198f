"""Photos recorded before their image file: listed on the photo desk, never shown broken."""

import json
import re

import pytest
from django.core.management import call_command
from django.urls import reverse

from articles.models import Article
from photos.models import Photo
from tests.articles.admin_forms import change_url, form_data, messages_in
from tests.articles.test_importer import SEED
from tests.factories import ArticleFactory, AuthorFactory, PhotoFactory, SectionFactory
from tests.photos import samples
from tests.photos.conftest import upload

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:photos_photo_changelist"
JSON_LD = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.S)


@pytest.fixture
def awaiting():
    """Return a library photo with a caption and credit and no image file yet."""
    return Photo.objects.create(
        caption="Syrian pro-government forces in Aleppo.", credit="AFP/File"
    )


def test_photo_desk_lists_an_imported_caption_as_awaiting_its_file(logged_in_editor):
    call_command("import_article", str(SEED), verbosity=0)
    with_file = PhotoFactory(title="A photo with its file")

    everything = logged_in_editor.get(reverse(CHANGELIST))
    awaiting = logged_in_editor.get(reverse(CHANGELIST), {"file": "awaiting"})

    assert everything.status_code == 200
    assert "Awaiting image file" in everything.content.decode()
    assert [photo.caption for photo in awaiting.context["cl"].result_list] == [
        "Syrian pro-government forces in Aleppo."
    ]
    assert with_file not in awaiting.context["cl"].result_list


def test_editor_uploads_the_file_later_and_its_copies_are_made(
    logged_in_editor, awaiting, django_capture_on_commit_callbacks
):
    url = reverse("admin:photos_photo_change", args=[awaiting.pk])
    form = logged_in_editor.get(url)
    assert form.status_code == 200
    assert "Awaiting image file" in form.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        saved = logged_in_editor.post(
            url,
            {"image": upload("aleppo.jpg", samples.jpeg(width=1200, height=675)),
             "title": awaiting.title, "caption": awaiting.caption, "credit": awaiting.credit,
             "alt_text": "Soldiers in a ruined street", "focal_point_x": "",
             "focal_point_y": ""},
        )  # fmt: skip

    assert saved.status_code == 302
    awaiting.refresh_from_db()
    assert awaiting.image and (awaiting.width, awaiting.height) == (1200, 675)
    assert awaiting.caption == "Syrian pro-government forces in Aleppo."
    assert awaiting.picture_renditions_ready


def test_saving_a_photo_still_awaiting_its_file_keeps_it_so(logged_in_editor, awaiting):
    url = reverse("admin:photos_photo_change", args=[awaiting.pk])

    saved = logged_in_editor.post(
        url,
        {"title": "Aleppo, file to come", "caption": awaiting.caption, "credit": "AFP",
         "alt_text": "", "focal_point_x": "", "focal_point_y": ""},
    )  # fmt: skip

    assert saved.status_code == 302
    awaiting.refresh_from_db()
    assert (awaiting.title, awaiting.credit, awaiting.image.name) == (
        "Aleppo, file to come",
        "AFP",
        "",
    )


def test_readers_see_no_photo_until_its_file_arrives(client, awaiting):
    section = SectionFactory(name="The Loop", slug="the-loop")
    story = ArticleFactory(section=section, lead_photo=awaiting, headline="Aleppo goodbyes")
    author = AuthorFactory(name="Zeina Haddad", slug="zeina", photo=awaiting)
    ArticleFactory(section=section, authors=[author])

    article_page = client.get(story.get_absolute_url()).content.decode()
    home = client.get("/").content.decode()
    author_page = client.get(author.get_absolute_url()).content.decode()

    assert 'class="lead-photo"' not in article_page
    # Shared with the site's default image until the photo's file arrives, never a broken one.
    og_images = re.findall(r'<meta property="og:image" content="([^"]+)"', article_page)
    assert og_images and all(url.endswith("/brand/share.png") for url in og_images)
    (json_ld,) = JSON_LD.findall(article_page)
    assert json.loads(json_ld)["image"]["url"].endswith("/brand/share.png")
    assert 'class="card-photo"' not in home
    assert "author-photo" not in author_page
    for page in (article_page, home, author_page):
        assert 'src=""' not in page


def test_a_story_whose_lead_photo_awaits_its_file_is_not_published(logged_in_editor, awaiting):
    story = ArticleFactory(
        status=Article.Status.DRAFT, published_at=None, byline="AM", lead_photo=awaiting
    )
    awaiting.alt_text = "Soldiers in a ruined street"
    awaiting.save()

    response = logged_in_editor.post(
        change_url(story), form_data(story, button="_publish"), follow=True
    )

    assert any("an image file for the lead photo" in m for m in messages_in(response))
    story.refresh_from_db()
    assert story.status == Article.Status.DRAFT


def test_the_story_form_and_chooser_show_a_photo_awaiting_its_file(logged_in_editor, awaiting):
    story = ArticleFactory(status=Article.Status.DRAFT, lead_photo=awaiting)

    form = logged_in_editor.get(change_url(story))
    summary = logged_in_editor.get(reverse("photos:chooser_summary", args=[awaiting.pk]))

    assert form.status_code == 200
    assert "No image file yet" in form.content.decode()
    assert summary.status_code == 200
    assert summary.json()["thumbnail"] is None
    assert summary.json()["gaps"][0].startswith("No image file yet")


def test_the_renditions_catch_up_skips_photos_awaiting_their_file(awaiting, capsys):
    call_command("queue_photo_renditions")

    assert 'Queued 0 photo(s) on the "photos" queue.' in capsys.readouterr().out
