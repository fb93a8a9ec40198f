"""The editor admin over HTTP, as reporters, editors and audience staff use it."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from reversion.models import Version

from articles.models import Article, ArticleAuthor, Correction
from tests.articles.admin_forms import ADD_URL, change_url, form_data, messages_in
from tests.factories import (
    ArticleFactory,
    AuthorFactory,
    PhotoFactory,
    SectionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def reporter(client):
    return UserFactory(username="rita", role="Reporter")


@pytest.fixture
def editor():
    return UserFactory(username="ed", role="Editor")


@pytest.fixture
def ready_story(reporter):
    """A complete draft by the reporter: everything the publish checklist asks for."""
    return ArticleFactory(
        status=Article.Status.DRAFT,
        published_at=None,
        created_by=reporter,
        byline="AM",
        headline="Ready to go",
    )


# Roles ---------------------------------------------------------------------------------


def test_reporter_creates_a_draft_and_submits_it_for_review(client, reporter):
    client.force_login(reporter)
    section = SectionFactory()

    response = client.post(ADD_URL, form_data(section=section, byline="RN", button="_save"))
    assert response.status_code == 302, form_errors(response)
    article = Article.objects.get()
    assert article.status == Article.Status.DRAFT
    assert article.created_by == reporter
    assert article.slug == "storm-closes-the-port"

    response = client.post(change_url(article), form_data(article, button="_submit_review"))
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.status == Article.Status.REVIEW


def test_reporter_cannot_publish_even_with_a_forged_post(client, reporter, ready_story):
    client.force_login(reporter)
    forged = form_data(ready_story, button="_publish", status="published")
    forged["published_at_0"], forged["published_at_1"] = "2020-01-01", "10:00:00"

    response = client.post(change_url(ready_story), forged)

    assert response.status_code == 403
    ready_story.refresh_from_db()
    assert ready_story.status == Article.Status.DRAFT
    assert ready_story.published_at is None
    assert not Article.objects.published().exists()


def test_status_field_in_a_plain_save_is_ignored(client, reporter, ready_story):
    client.force_login(reporter)

    client.post(change_url(ready_story), form_data(ready_story, status="published"))

    ready_story.refresh_from_db()
    assert ready_story.status == Article.Status.DRAFT


def test_reporter_edits_to_their_published_story_wait_for_an_editor(client, reporter):
    story = ArticleFactory(created_by=reporter, headline="Already out")
    client.force_login(reporter)

    page = client.get(change_url(story))
    response = client.post(change_url(story), form_data(story, headline="Changed by reporter"))

    assert 'value="Submit the update for an editor"' in page.content.decode()
    assert response.status_code == 302
    story.refresh_from_db()
    assert story.headline == "Already out"
    assert story.pending_update.content["fields"]["headline"] == "Changed by reporter"


def test_reporter_cannot_change_someone_elses_published_story(client, reporter):
    story = ArticleFactory(headline="Already out")
    client.force_login(reporter)

    page = client.get(change_url(story))
    response = client.post(change_url(story), form_data(story, headline="Changed by reporter"))

    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert response.status_code == 403
    story.refresh_from_db()
    assert story.headline == "Already out"


def test_reporter_cannot_change_someone_elses_draft(client, reporter):
    other = ArticleFactory(status=Article.Status.DRAFT, published_at=None, headline="Not yours")
    client.force_login(reporter)

    response = client.post(change_url(other), form_data(other, headline="Mine now"))

    assert response.status_code == 403
    other.refresh_from_db()
    assert other.headline == "Not yours"


def test_reporter_can_edit_a_draft_that_carries_their_byline(client, reporter):
    author = AuthorFactory(user=reporter)
    story = ArticleFactory(status=Article.Status.DRAFT, published_at=None, authors=[author])
    client.force_login(reporter)

    response = client.post(change_url(story), form_data(story, headline="Better headline"))

    assert response.status_code == 302
    story.refresh_from_db()
    assert story.headline == "Better headline"


def test_reporter_cannot_delete_or_withdraw(client, reporter, ready_story):
    client.force_login(reporter)
    delete_url = f"/admin/articles/article/{ready_story.pk}/delete/"

    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    response = client.post(change_url(ready_story), form_data(ready_story, button="_withdraw"))

    assert response.status_code == 403
    assert Article.objects.filter(pk=ready_story.pk, status=Article.Status.DRAFT).exists()


def test_audience_staff_cannot_reach_stories(client):
    client.force_login(UserFactory(username="aud", role="Audience"))
    story = ArticleFactory()

    assert client.get("/admin/articles/article/").status_code == 403
    assert client.get(change_url(story)).status_code == 403
    assert client.post(ADD_URL, form_data()).status_code == 403
    assert not Article.objects.exclude(pk=story.pk).exists()


# Publishing ----------------------------------------------------------------------------


def test_editor_publishes_and_the_story_goes_public(client, editor, ready_story):
    client.force_login(editor)

    response = client.post(
        change_url(ready_story), form_data(ready_story, button="_publish"), follow=True
    )

    ready_story.refresh_from_db()
    assert ready_story.status == Article.Status.PUBLISHED
    assert ready_story.published_at <= timezone.now()
    assert any("Published." in message for message in messages_in(response))
    assert client.get(ready_story.get_absolute_url()).status_code == 200


def test_publish_checklist_names_everything_missing_in_one_message(client, editor):
    story = ArticleFactory(
        status=Article.Status.DRAFT, published_at=None, section=None, body="", byline=""
    )
    client.force_login(editor)

    response = client.post(
        change_url(story), form_data(story, button="_publish", body=""), follow=True
    )

    errors = [m for m in messages_in(response) if "cannot be published" in m]
    assert len(errors) == 1
    assert "a section" in errors[0]
    assert "at least one byline" in errors[0]
    assert "body text" in errors[0]
    story.refresh_from_db()
    assert story.status == Article.Status.DRAFT


@pytest.mark.parametrize(
    ("photo_fields", "missing"),
    [
        ({"credit": "", "alt_text": "A street"}, "a credit for the lead photo"),
        ({"credit": "AFP", "alt_text": ""}, "alt text for the lead photo"),
    ],
)
def test_lead_photo_needs_credit_and_alt_text(client, editor, ready_story, photo_fields, missing):
    ready_story.lead_photo = PhotoFactory(**photo_fields)
    ready_story.save()
    client.force_login(editor)

    response = client.post(
        change_url(ready_story), form_data(ready_story, button="_publish"), follow=True
    )

    assert any(missing in message for message in messages_in(response))
    ready_story.refresh_from_db()
    assert ready_story.status == Article.Status.DRAFT


def test_decorative_lead_photo_needs_no_alt_text(client, editor, ready_story):
    ready_story.lead_photo = PhotoFactory(alt_text="", is_decorative=True)
    ready_story.save()
    client.force_login(editor)

    client.post(change_url(ready_story), form_data(ready_story, button="_publish"))

    ready_story.refresh_from_db()
    assert ready_story.status == Article.Status.PUBLISHED


def test_editor_schedules_a_story_that_goes_live_on_time(client, editor, ready_story, time_machine):
    client.force_login(editor)
    publish_at = timezone.localtime(timezone.now() + timedelta(hours=3)).replace(microsecond=0)
    data = form_data(ready_story, button="_publish")
    data["published_at_0"] = publish_at.strftime("%Y-%m-%d")
    data["published_at_1"] = publish_at.strftime("%H:%M:%S")

    response = client.post(change_url(ready_story), data, follow=True)

    ready_story.refresh_from_db()
    assert ready_story.status == Article.Status.PUBLISHED
    assert ready_story.published_at == publish_at
    assert any("Scheduled for" in message for message in messages_in(response))
    listing = client.get("/admin/articles/article/").content.decode()
    assert "Scheduled for" in listing
    assert client.get(ready_story.get_absolute_url()).status_code == 404

    time_machine.move_to(publish_at + timedelta(seconds=1))
    assert client.get(ready_story.get_absolute_url()).status_code == 200


def test_withdrawn_story_answers_410_gone(client, editor):
    story = ArticleFactory(headline="A story we got wrong")
    client.force_login(editor)

    client.post(change_url(story), form_data(story, button="_withdraw"))
    client.logout()
    response = client.get(story.get_absolute_url())

    assert response.status_code == 410
    assert "withdrawn" in response.content.decode()
    assert "A story we got wrong" not in client.get("/").content.decode()


def test_changelist_shows_each_status_in_words(client, editor):
    ArticleFactory(status=Article.Status.DRAFT, published_at=None, headline="D")
    ArticleFactory(status=Article.Status.REVIEW, published_at=None, headline="R")
    ArticleFactory(published_at=timezone.now() + timedelta(days=1), headline="S")
    ArticleFactory(headline="P")
    ArticleFactory(status=Article.Status.WITHDRAWN, headline="W")
    client.force_login(editor)

    html = client.get("/admin/articles/article/").content.decode()
    labels = re.findall(r'<span class="status status-[\w-]+">([^<]+)</span>', html)

    assert {label.split(" for ")[0] for label in labels} == {
        "Draft", "In review", "Scheduled", "Published", "Withdrawn",
    }  # fmt: skip
    review_only = client.get("/admin/articles/article/?state=review").content.decode()
    assert re.findall(r'<span class="status status-[\w-]+">([^<]+)</span>', review_only) == [
        "In review"
    ]


def test_changelist_query_count_does_not_grow_with_bylines(
    client, editor, django_assert_max_num_queries
):
    """Guard against a bylines query per row in the story list."""
    authors = AuthorFactory.create_batch(3)
    for _ in range(30):
        ArticleFactory(authors=authors[:2])
    client.force_login(editor)
    client.get("/admin/articles/article/")

    with django_assert_max_num_queries(15):
        response = client.get("/admin/articles/article/")
    assert response.content.decode().count('class="status status-published"') == 30


def test_bulk_publish_publishes_ready_stories_and_names_the_rest(client, editor, ready_story):
    unready = ArticleFactory(status=Article.Status.DRAFT, published_at=None, section=None)
    client.force_login(editor)

    response = client.post(
        "/admin/articles/article/",
        {"action": "publish_selected", "_selected_action": [ready_story.pk, unready.pk]},
        follow=True,
    )

    assert list(Article.objects.published()) == [ready_story]
    assert any(unready.headline in message for message in messages_in(response))


def test_reporter_has_no_bulk_publish(client, reporter, ready_story):
    client.force_login(reporter)

    page = client.get("/admin/articles/article/").content.decode()
    client.post(
        "/admin/articles/article/",
        {"action": "publish_selected", "_selected_action": [ready_story.pk]},
    )

    assert "publish_selected" not in page
    assert not Article.objects.published().exists()


def test_slug_collision_is_a_form_error(client, editor):
    ArticleFactory(slug="storm-closes-the-port")
    client.force_login(editor)

    response = client.post(ADD_URL, form_data(slug="storm-closes-the-port"))

    assert response.status_code == 200
    assert "Another story already uses this slug" in response.content.decode()
    assert Article.objects.count() == 1


# Corrections, revisions, conflicts -----------------------------------------------------


def test_editor_adds_a_correction_that_readers_see(client, editor):
    story = ArticleFactory(updated_at=None)
    client.force_login(editor)
    data = form_data(story)
    data.update({
        "corrections-TOTAL_FORMS": "1",
        "corrections-0-kind": "correction",
        "corrections-0-text": "An earlier version misnamed the port.",
        "corrections-0-published_at_0": timezone.localtime().strftime("%Y-%m-%d"),
        "corrections-0-published_at_1": timezone.localtime().strftime("%H:%M:%S"),
    })  # fmt: skip

    response = client.post(change_url(story), data)

    assert response.status_code == 302
    story.refresh_from_db()
    assert story.updated_at is not None
    page = client.get(story.get_absolute_url()).content.decode()
    assert "An earlier version misnamed the port." in page
    assert "Updated" in page


def test_reporter_cannot_add_corrections(client, reporter, ready_story):
    client.force_login(reporter)
    data = form_data(ready_story)
    data.update({"corrections-TOTAL_FORMS": "1", "corrections-0-text": "Sneaky"})

    client.post(change_url(ready_story), data)

    assert not Correction.objects.exists()


def test_every_save_is_a_revision_that_can_be_restored(client, editor, ready_story):
    client.force_login(editor)
    client.post(change_url(ready_story), form_data(ready_story, headline="Second headline"))
    client.post(change_url(ready_story), form_data(ready_story, headline="Third headline"))
    versions = Version.objects.get_for_object(ready_story)
    assert versions.count() == 2
    first_edit = versions.last()
    assert first_edit.revision.user == editor
    assert first_edit.field_dict["headline"] == "Second headline"

    history = client.get(f"/admin/articles/article/{ready_story.pk}/history/")
    compare = client.get(
        f"/admin/articles/article/{ready_story.pk}/history/compare/",
        {"version_id1": versions.last().pk, "version_id2": versions.first().pk},
    )
    revision_url = f"/admin/articles/article/{ready_story.pk}/history/{first_edit.pk}/"
    restore_form = client.get(revision_url)
    restored = client.post(revision_url, form_data(ready_story, headline="Second headline"))

    assert history.status_code == 200 and "Second headline" in history.content.decode()
    assert compare.status_code == 200 and "Third headline" in compare.content.decode()
    assert restore_form.status_code == 200
    assert restored.status_code == 302
    ready_story.refresh_from_db()
    assert ready_story.headline == "Second headline"
    assert Version.objects.get_for_object(ready_story).count() == 3


def test_restore_brings_back_removed_bylines(client, editor):
    first, second = AuthorFactory(name="First Author"), AuthorFactory(name="Second Author")
    story = ArticleFactory(authors=[first, second])
    client.force_login(editor)
    client.post(change_url(story), form_data(story))
    version = Version.objects.get_for_object(story).first()
    data = form_data(story)
    data["bylines-1-DELETE"] = "on"
    client.post(change_url(story), data)
    assert story.bylines.count() == 1

    client.post(f"/admin/articles/article/{story.pk}/history/{version.pk}/", form_data(story))

    assert [b.author for b in ArticleAuthor.objects.filter(article=story)] == [first, second]


def test_second_editor_is_told_about_a_conflict_and_loses_nothing(client, editor, ready_story):
    """Two editors open the same story; the one who saves second is stopped, not silenced."""
    from django.test import Client

    other_editor = UserFactory(username="zeina", first_name="Zeina", role="Editor")
    first, second = client, Client()
    first.force_login(editor)
    second.force_login(other_editor)
    opened_by_first = form_data(ready_story)  # both open the form at the same version
    opened_by_second = form_data(ready_story)

    saved = second.post(
        change_url(ready_story), {**opened_by_second, "body": "<p>Zeina's version.</p>"}
    )
    refused = first.post(
        change_url(ready_story), {**opened_by_first, "body": "<p>My careful rewrite.</p>"}
    )

    assert saved.status_code == 302
    assert refused.status_code == 200
    html = refused.content.decode()
    assert "Zeina changed this story" in html
    assert "My careful rewrite." in html  # the refused text is still in the form
    ready_story.refresh_from_db()
    assert ready_story.body == "<p>Zeina's version.</p>"

    # Saving again after reading the warning is a deliberate overwrite, and is allowed.
    token = re.search(r'name="loaded_modified_at" value="([^"]+)"', html).group(1)
    again = first.post(
        change_url(ready_story),
        {**opened_by_first, "body": "<p>My careful rewrite.</p>", "loaded_modified_at": token},
    )
    assert again.status_code == 302
    ready_story.refresh_from_db()
    assert ready_story.body == "<p>My careful rewrite.</p>"
    assert Version.objects.get_for_object(ready_story).count() == 2


# Previews and dashboard ----------------------------------------------------------------


def test_staff_preview_a_draft_with_a_banner_and_no_caching(client, reporter, ready_story):
    client.force_login(reporter)

    response = client.get(f"/preview/{ready_story.pk}/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "DRAFT" in html and ready_story.headline in html
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]
    assert response["X-Robots-Tag"] == "noindex, nofollow"


def test_readers_cannot_use_the_staff_preview(client, ready_story):
    assert client.get(f"/preview/{ready_story.pk}/").status_code == 404


def test_shared_preview_link_works_for_48_hours_only(client, editor, ready_story, time_machine):
    client.force_login(editor)
    response = client.post(
        f"/admin/articles/article/{ready_story.pk}/preview-link/",
        form_data(ready_story, headline="Typed but not saved"),
        follow=True,
    )
    link = re.search(r"(/preview/shared/[^\"<\s]+/)", " ".join(messages_in(response))).group(1)
    client.logout()

    valid = client.get(link)
    tampered = client.get(link.replace(link[-6:-1], "AAAAA"))
    time_machine.move_to(timezone.now() + timedelta(hours=48, minutes=1))
    expired = client.get(link)

    assert valid.status_code == 200 and ready_story.headline in valid.content.decode()
    assert valid["X-Robots-Tag"] == "noindex, nofollow"
    assert tampered.status_code == 404
    assert expired.status_code == 410
    assert "expired" in expired.content.decode()


def test_dashboard_shows_the_desk(client, editor, reporter):
    mine = ArticleFactory(status=Article.Status.DRAFT, published_at=None, created_by=editor)
    waiting = ArticleFactory(status=Article.Status.REVIEW, published_at=None)
    scheduled = ArticleFactory(published_at=timezone.now() + timedelta(hours=2))
    live = ArticleFactory()
    client.force_login(editor)

    html = client.get("/admin/").content.decode()

    for title, story in [
        ("My drafts", mine),
        ("Awaiting review", waiting),
        ("Scheduled", scheduled),
        ("Recently published", live),
    ]:
        panel = re.search(rf"<h2>{title}</h2>(.*?)</section>", html, re.S).group(1)
        assert story.headline in panel


def form_errors(response):
    """Return the admin form's and inlines' errors, for failing assertions to show."""
    context = response.context
    errors = dict(context["adminform"].form.errors)
    for formset in context["inline_admin_formsets"]:
        errors[formset.formset.prefix] = [formset.formset.errors, formset.formset.non_form_errors()]
    return errors
