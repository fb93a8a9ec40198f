"""Story history over HTTP: who may read, compare, restore and recover versions, and how."""

import pytest
from django.contrib.admin.models import LogEntry
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from reversion.models import Version

from articles.models import Article, ArticleAuthor
from newsletter import services as newsletter_services
from newsletter.models import Issue, Newsletter
from tests.articles.admin_forms import change_url, form_data, messages_in
from tests.factories import (
    ArticleFactory,
    AuthorFactory,
    PhotoFactory,
    TagFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def reporter():
    return UserFactory(username="rita", role="Reporter")


@pytest.fixture
def editor():
    return UserFactory(username="ed", role="Editor", first_name="Ed", last_name="Itor")


def history_url(article, version=None):
    base = f"/admin/articles/article/{article.pk}/history/"
    return f"{base}{version.pk}/" if version else base


def compare_url(article, older, newer):
    return (
        f"/admin/articles/article/{article.pk}/history/compare/"
        f"?version_id1={older.pk}&version_id2={newer.pk}"
    )


def save(client, article, **fields):
    response = client.post(change_url(article), form_data(article, **fields))
    assert response.status_code == 302, response.content.decode()[:2000]
    return Version.objects.get_for_object(article).first()


@pytest.fixture
def live_story_first_drafted_by_reporter(client, reporter, editor):
    """A story the reporter drafted (one version), which an editor then published."""
    story = ArticleFactory(
        status=Article.Status.DRAFT, published_at=None, created_by=reporter, byline="AM"
    )
    client.force_login(reporter)
    draft_version = save(client, story, headline="Reporter's draft headline")
    client.force_login(editor)
    client.post(change_url(story), form_data(story, button="_publish"))
    story.refresh_from_db()
    assert story.is_public
    client.logout()
    return story, draft_version


def test_reporter_cannot_take_a_live_story_down_through_its_history(
    client, reporter, live_story_first_drafted_by_reporter
):
    """Guards the side door where permission was judged on the old draft, not the live row."""
    story, draft_version = live_story_first_drafted_by_reporter
    public_url = story.get_absolute_url()
    client.force_login(reporter)

    page = client.get(history_url(story, draft_version))
    response = client.post(history_url(story, draft_version), form_data(story))

    assert page.status_code == 200
    assert "Restore this version" not in page.content.decode()
    assert response.status_code == 403
    story.refresh_from_db()
    assert story.status == Article.Status.PUBLISHED and story.published_at is not None
    client.logout()
    assert client.get(public_url).status_code == 200


def test_restoring_earlier_wording_keeps_a_live_story_live_at_its_address(
    client, editor, live_story_first_drafted_by_reporter
):
    story, draft_version = live_story_first_drafted_by_reporter
    client.force_login(editor)
    save(client, story, headline="Editor's sharper headline", dek="A new standfirst.")
    story.refresh_from_db()
    published_at, public_url = story.published_at, story.get_absolute_url()
    versions_before = Version.objects.get_for_object(story).count()

    response = client.post(history_url(story, draft_version), follow=True)

    story.refresh_from_db()
    assert story.headline == "Reporter's draft headline"
    assert story.status == Article.Status.PUBLISHED
    assert story.published_at == published_at
    assert story.get_absolute_url() == public_url
    assert Version.objects.get_for_object(story).count() == versions_before + 1
    newest = Version.objects.get_for_object(story).first()
    assert newest.revision.comment.startswith("Restored the version of")
    assert newest.revision.user == editor
    assert any("status and address are unchanged" in text for text in messages_in(response))
    client.logout()
    assert "Reporter&#x27;s draft headline" in client.get(public_url).content.decode()


def test_restore_drops_tags_authors_and_photos_deleted_since_and_says_so(client, editor):
    """Guards the 500 from an integrity error when a version names deleted related rows."""
    kept_author, gone_author = AuthorFactory(name="Kept Author"), AuthorFactory(name="Gone Author")
    kept_tag, gone_tag = TagFactory(name="Kept"), TagFactory(name="Gone")
    photo = PhotoFactory()
    story = ArticleFactory(
        authors=[kept_author, gone_author], tags=[kept_tag, gone_tag], lead_photo=photo
    )
    client.force_login(editor)
    old_version = save(client, story, headline="With everything")
    data = form_data(story, headline="Without them", lead_photo="", tags=[kept_tag.pk])
    data["bylines-1-DELETE"] = "on"
    assert client.post(change_url(story), data).status_code == 302
    gone_tag.delete()
    gone_author.delete()
    photo.delete()

    response = client.post(history_url(story, old_version), follow=True)

    assert response.status_code == 200
    story.refresh_from_db()
    assert story.headline == "With everything"
    assert [byline.author for byline in ArticleAuthor.objects.filter(article=story)] == [
        kept_author
    ]
    assert list(story.tags.all()) == [kept_tag]
    assert story.lead_photo is None
    warning = " ".join(messages_in(response))
    assert "lead photo" in warning and "1 tag" in warning and "1 byline" in warning


@pytest.mark.parametrize("page", ["history", "compare", "version"])
def test_staff_without_view_permission_cannot_read_any_version(client, editor, page):
    """Guards the compare view that showed any staff login every draft's text."""
    story = ArticleFactory(status=Article.Status.DRAFT, published_at=None)
    client.force_login(editor)
    first = save(client, story, body="<p>Secret draft wording.</p>")
    second = save(client, story, body="<p>Secret second wording.</p>")
    client.force_login(UserFactory(username="aud", role="Audience"))

    url = {
        "history": history_url(story),
        "compare": compare_url(story, first, second),
        "version": history_url(story, first),
    }[page]
    response = client.get(url)

    assert response.status_code == 403
    assert "Secret" not in response.content.decode()


def test_compare_refuses_versions_of_another_story(client, editor):
    story, other = ArticleFactory(), ArticleFactory()
    client.force_login(editor)
    own = save(client, story)
    foreign = save(client, other, body="<p>Another story's words.</p>")

    response = client.get(compare_url(story, own, foreign))

    assert response.status_code == 404
    assert client.get(history_url(story, foreign)).status_code == 404
    assert (
        client.get(f"{history_url(story)}compare/?version_id1=x&version_id2=0").status_code == 404
    )


def test_compare_marks_changed_words_in_their_paragraphs_and_bylines_and_tags(client, editor):
    first_author, second_author = AuthorFactory(name="Amira Haddad"), AuthorFactory(name="Sami Kh")
    story = ArticleFactory(
        authors=[first_author],
        tags=[TagFactory(name="Syria")],
        body="<p>Residents fled the eastern districts.</p><p>Forces advanced on Monday.</p>",
    )
    client.force_login(editor)
    older = save(client, story)
    data = form_data(
        story,
        body="<p>Residents fled the eastern districts.</p><p>Forces advanced on Tuesday.</p>",
        tags=[TagFactory(name="Aleppo").pk],
        lead_photo_caption="Smoke over the old city.",
    )
    data["bylines-TOTAL_FORMS"] = "2"
    data["bylines-1-author"] = second_author.pk
    data["bylines-1-position"] = "1"
    client.post(change_url(story), data)
    newer = Version.objects.get_for_object(story).first()

    html = client.get(compare_url(story, newer, older)).content.decode()

    assert "<del>Monday.</del> <ins>Tuesday.</ins>" in html
    assert '<p class="diff-paragraph ">Residents fled the eastern districts.</p>' in html
    assert '<p class="diff-paragraph changed">Forces advanced on' in html
    assert "<ins>Sami Kh</ins>" in html
    assert "<del>Syria</del>" in html and "<ins>Aleppo</ins>" in html
    assert "<ins>Smoke over the old city.</ins>" in html
    assert f'href="/admin/articles/article/{story.pk}/history/">History</a>' in html


def test_creating_a_preview_link_saves_nothing_and_logs_nothing(client, editor):
    story = ArticleFactory(status=Article.Status.DRAFT, published_at=None, headline="As saved")
    client.force_login(editor)
    versions_before = Version.objects.get_for_object(story).count()

    response = client.post(
        f"/admin/articles/article/{story.pk}/preview-link/",
        form_data(story, headline="Typed but not saved", body="<p>New words.</p>"),
        follow=True,
    )

    story.refresh_from_db()
    assert "Preview link" in " ".join(messages_in(response))
    assert story.headline == "As saved"
    assert Version.objects.get_for_object(story).count() == versions_before
    assert not LogEntry.objects.filter(object_id=str(story.pk)).exists()


def test_reporter_cannot_create_preview_links(client, reporter):
    story = ArticleFactory(status=Article.Status.DRAFT, published_at=None, created_by=reporter)
    client.force_login(reporter)

    response = client.post(f"/admin/articles/article/{story.pk}/preview-link/")

    assert response.status_code == 403


def test_saving_a_story_with_an_embed_unchanged_logs_no_body_change(client, editor):
    """Guards the false "Changed Body" entry from comparing editor markup with stored HTML."""
    story = ArticleFactory(
        body='<p>Posts:</p><figure class="media" data-embed-url="https://twitter.com/a/status/1">'
        "</figure>"
    )
    client.force_login(editor)

    save(client, story, headline="Only the headline changed")

    entry = LogEntry.objects.filter(object_id=str(story.pk)).latest("action_time")
    assert "Headline" in entry.get_change_message()
    assert "Body" not in entry.get_change_message()


def test_reporter_cannot_recover_a_deleted_story(client, reporter, editor):
    story = ArticleFactory()
    client.force_login(editor)
    save(client, story)
    client.post(f"/admin/articles/article/{story.pk}/delete/", {"post": "yes"})
    deleted = Version.objects.get_deleted(Article).get()
    client.force_login(reporter)

    listing = client.get("/admin/articles/article/recover/")
    response = client.post(f"/admin/articles/article/recover/{deleted.pk}/")

    assert listing.status_code == 403
    assert response.status_code == 403
    assert not Article.objects.filter(pk=story.pk).exists()


def test_editor_recovers_a_deleted_live_story_as_a_draft(client, editor):
    story = ArticleFactory(headline="Deleted by mistake")
    client.force_login(editor)
    save(client, story)
    public_url = story.get_absolute_url()
    client.post(f"/admin/articles/article/{story.pk}/delete/", {"post": "yes"})
    deleted = Version.objects.get_deleted(Article).get()

    page = client.get(f"/admin/articles/article/recover/{deleted.pk}/")
    response = client.post(f"/admin/articles/article/recover/{deleted.pk}/")

    assert page.status_code == 200 and "Deleted by mistake" in page.content.decode()
    assert response.status_code == 302
    recovered = Article.objects.get(pk=story.pk)
    assert recovered.headline == "Deleted by mistake"
    assert recovered.status == Article.Status.DRAFT
    client.logout()
    assert client.get(public_url).status_code in (404, 410)


def test_services_refuse_a_missing_user_unless_the_work_is_the_systems(editor):
    """Guards the newsletter's old rule that no user meant allowed."""
    newsletter = Newsletter.objects.create(name="Daily", slug="daily")
    issue = Issue.objects.create(newsletter=newsletter, subject="Today")

    with pytest.raises(PermissionDenied):
        newsletter_services.issue_send(issue=issue, user=None)
    with pytest.raises(PermissionDenied):
        newsletter_services.issue_send(issue=issue, user=UserFactory(username="nobody"))


def test_only_editors_are_offered_recovery_of_deleted_stories(client, reporter, editor):
    client.force_login(reporter)
    reporter_list = client.get("/admin/articles/article/").content.decode()
    client.force_login(editor)
    editor_list = client.get("/admin/articles/article/").content.decode()

    assert "Recover deleted" not in reporter_list
    assert "Recover deleted articles" in editor_list


def test_history_page_queries_do_not_grow_with_versions(client, editor):
    """Guards the history page from loading each version's user or revision one by one."""
    story = ArticleFactory()
    client.force_login(editor)
    save(client, story, headline="One")
    save(client, story, headline="Two")
    with CaptureQueriesContext(connection) as few:
        assert client.get(history_url(story)).status_code == 200
    for number in range(6):
        save(client, story, headline=f"Edit {number}")
    with CaptureQueriesContext(connection) as many:
        page = client.get(history_url(story))

    assert page.content.decode().count('name="version_id1"') == 8
    assert len(many) == len(few)
