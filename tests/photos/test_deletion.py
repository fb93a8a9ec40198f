"""A photo that stories or authors show cannot be deleted from under them, by any door."""

import pytest
from django.db.models import ProtectedError
from django.urls import reverse

from articles.models import Article
from photos.models import Photo
from tests.factories import ArticleFactory, AuthorFactory, PhotoFactory, photo_with_renditions

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:photos_photo_changelist"


@pytest.fixture
def photo_in_use():
    """Return a photo shown by three stories (lead, body image, body rendition) and an author."""
    photo = photo_with_renditions(title="Aleppo at dusk")
    rendition = photo.renditions.first()
    stories = {
        "lead": ArticleFactory(headline="Lead photo story", lead_photo=photo),
        "body": ArticleFactory(
            headline="Body image story",
            status=Article.Status.DRAFT,
            body=f'<p>Text.</p><figure class="image"><img src="{photo.image.url}"></figure>',
        ),
        "rendition": ArticleFactory(
            headline="Rendition story",
            status=Article.Status.REVIEW,
            body=f'<p>Text.</p><img src="{rendition.file.url}" data-photo-id="{photo.pk}">',
        ),
    }
    author = AuthorFactory(name="Zeina Haddad", photo=photo)
    return photo, stories, author


def in_use_message(stories, authors):
    plural = Article._meta.verbose_name_plural
    return (
        f"This photo is used by {stories} {plural} and {authors} author; remove it from them first."
    )


def test_delete_page_lists_every_story_and_author_using_the_photo(logged_in_editor, photo_in_use):
    photo, stories, author = photo_in_use

    page = logged_in_editor.get(reverse("admin:photos_photo_delete", args=[photo.pk]))

    html = page.content.decode()
    assert page.status_code == 200
    assert in_use_message(3, 1) in html
    for story, status in [("lead", "Published"), ("body", "Draft"), ("rendition", "In review")]:
        url = reverse("admin:articles_article_change", args=[stories[story].pk])
        assert f'<a href="{url}">{stories[story].headline}</a> ({status})' in html
    assert "lead photo" in html and "in its text" in html
    assert f'<a href="{reverse("admin:articles_author_change", args=[author.pk])}">' in html
    assert 'name="post"' not in html


def test_delete_page_refuses_to_delete_a_photo_in_use(
    logged_in_editor, photo_in_use, stored_files, django_capture_on_commit_callbacks
):
    photo, stories, author = photo_in_use
    files_before = stored_files()

    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in_editor.post(
            reverse("admin:photos_photo_delete", args=[photo.pk]), {"post": "yes"}
        )

    assert in_use_message(3, 1) in response.content.decode()
    assert Photo.objects.filter(pk=photo.pk).exists()
    stories["lead"].refresh_from_db()
    author.refresh_from_db()
    assert stories["lead"].lead_photo == photo and author.photo == photo
    assert stored_files() == files_before
    unused = PhotoFactory()
    deleted = logged_in_editor.post(
        reverse("admin:photos_photo_delete", args=[unused.pk]), {"post": "yes"}
    )
    assert deleted.status_code == 302
    assert not Photo.objects.filter(pk=unused.pk).exists()


def test_delete_selected_action_refuses_when_any_photo_is_in_use(logged_in_editor, photo_in_use):
    photo, stories, _ = photo_in_use
    unused = PhotoFactory()
    selected = {"action": "delete_selected", "_selected_action": [photo.pk, unused.pk]}

    asked = logged_in_editor.post(reverse(CHANGELIST), selected)
    confirmed = logged_in_editor.post(reverse(CHANGELIST), {**selected, "post": "yes"})

    html = asked.content.decode()
    assert in_use_message(3, 1) in html
    assert reverse("admin:articles_article_change", args=[stories["body"].pk]) in html
    assert in_use_message(3, 1) in confirmed.content.decode()
    assert Photo.objects.filter(pk__in=[photo.pk, unused.pk]).count() == 2
    only_unused = {**selected, "_selected_action": [unused.pk], "post": "yes"}
    assert logged_in_editor.post(reverse(CHANGELIST), only_unused).status_code == 302
    assert list(Photo.objects.all()) == [photo]


def test_the_shell_cannot_delete_a_photo_in_use_either(photo_in_use):
    photo, stories, author = photo_in_use

    with pytest.raises(ProtectedError) as refused:
        photo.delete()
    with pytest.raises(ProtectedError):
        Photo.objects.filter(pk=photo.pk).delete()

    assert str(refused.value.args[0]) == in_use_message(3, 1)
    assert set(refused.value.protected_objects) == {*stories.values(), author}
    assert Photo.objects.filter(pk=photo.pk).exists()
    stories["lead"].refresh_from_db()
    assert stories["lead"].lead_photo == photo
    unused = PhotoFactory()
    unused.delete()
    assert list(Photo.objects.all()) == [photo]
