"""Working on a story together: unsaved working copies, presence, soft locks, pending updates."""

import re
from datetime import datetime, timedelta
from html.parser import HTMLParser

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from reversion.models import Version

from articles.models import Article, ArticleRedirect, EditingSession, PendingUpdate, WorkingCopy
from publication.models import SiteSettings
from tests.articles.admin_forms import ADD_URL, change_url, form_data, messages_in
from tests.factories import ArticleFactory, AuthorFactory, UserFactory
from tests.frontcache.recording_server import RecordingServer

pytestmark = pytest.mark.django_db

requires_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="query counts are pinned on PostgreSQL"
)

CHANGELIST_URL = "/admin/articles/article/"
NEW_STORY_AUTOSAVE_URL = "/admin/articles/article/autosave/"
DASHBOARD_URL = "/admin/"


def autosave_url(story):
    return f"/admin/articles/article/{story.pk}/autosave/"


def heartbeat_url(story):
    return f"/admin/articles/article/{story.pk}/heartbeat/"


def take_over_url(story):
    return f"/admin/articles/article/{story.pk}/lock/take/"


def release_url(story):
    return f"/admin/articles/article/{story.pk}/lock/release/"


def discard_update_url(story):
    return f"/admin/articles/article/{story.pk}/pending-update/discard/"


def discard_copy_url(copy):
    return f"/admin/articles/article/working-copies/{copy.pk}/discard/"


# People, stories and the newsroom clock -------------------------------------------------


@pytest.fixture
def clock(time_machine):
    """Stop the newsroom clock at 09:41 on a weekday morning; tests move it on by hand."""
    morning = timezone.make_aware(datetime(2026, 3, 3, 9, 41))
    time_machine.move_to(morning, tick=False)
    return morning


@pytest.fixture
def amal(clock):
    return UserFactory(username="amal", first_name="Amal", last_name="Aziz", role="Editor")


@pytest.fixture
def basil(clock):
    return UserFactory(username="basil", first_name="Basil", last_name="Brown", role="Editor")


@pytest.fixture
def rita(clock):
    return UserFactory(username="rita", first_name="Rita", last_name="Reyes", role="Reporter")


@pytest.fixture
def live_story(clock):
    """A published story with an author, ready for an update to be published."""
    return ArticleFactory(
        headline="Port reopens after the storm",
        body="<p>Ships left the harbour at dawn.</p>",
        authors=[AuthorFactory(name="Zeina Haddad")],
    )


def signed_in(user):
    """Return a browser of its own with ``user`` signed in to the admin."""
    browser = Client()
    browser.force_login(user)
    return browser


class StoryFormFields(HTMLParser):
    """Collect what a browser sends from the admin's story form: every field, no button."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.fields = []
        self.in_form = False
        self.textarea = None
        self.select = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.in_form = attrs.get("id") == "article_form"
        name = attrs.get("name")
        if not self.in_form or "disabled" in attrs:
            return
        if tag == "input" and name:
            kind = attrs.get("type", "text")
            if kind in ("submit", "button", "reset", "image", "file"):
                return
            if kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.fields.append((name, attrs.get("value") or "on"))
                return
            self.fields.append((name, attrs.get("value") or ""))
        elif tag == "textarea" and name:
            self.textarea = [name, ""]
        elif tag == "select" and name:
            self.select = {"name": name, "multiple": "multiple" in attrs, "options": []}
        elif tag == "option" and self.select is not None:
            self.select["options"].append((attrs.get("value") or "", "selected" in attrs))

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.in_form = False
        elif tag == "textarea" and self.textarea is not None:
            name, text = self.textarea
            # A browser drops the newline that opens a textarea's text, as Django writes it.
            self.fields.append((name, text.removeprefix("\n")))
            self.textarea = None
        elif tag == "select" and self.select is not None:
            options = self.select["options"]
            chosen = [value for value, selected in options if selected]
            if not chosen and options and not self.select["multiple"]:
                chosen = [options[0][0]]  # a single choice sends its first option by default
            self.fields += [(self.select["name"], value) for value in chosen]
            self.select = None


def form_fields(html):
    """Return the fields the story form in ``html`` sends, as the test client takes them."""
    parser = StoryFormFields()
    parser.feed(html)
    fields = {}
    for name, value in parser.fields:
        fields.setdefault(name, []).append(value)
    return fields


def open_form(browser, url):
    """Open the story form at ``url``; return its page and the fields it would send."""
    response = browser.get(url)
    assert response.status_code == 200, response.status_code
    html = response.content.decode()
    return html, form_fields(html)


def heartbeat(browser, story, *, editing=True):
    response = browser.post(heartbeat_url(story), {"editing": "1" if editing else "0"})
    assert response.status_code == 200, response.content
    return response.json()


def autosave_key(html):
    return re.search(r'name="autosave_key" value="([0-9a-f]+)"', html).group(1)


def refusal(response):
    """Return the JSON error an endpoint refused with (the person reads it in the form)."""
    assert response["Content-Type"] == "application/json", response["Content-Type"]
    return response.json()["error"]


def public_page(story):
    response = Client().get(story.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


def stored(story):
    """Return what the database holds of ``story`` that readers or its address depend on."""
    row = Article.objects.get(pk=story.pk)
    return row.headline, row.body, row.slug, row.modified_at, row.updated_at


def present(view):
    """Return who else a heartbeat says has the story open: (name, whether editing)."""
    return [(editor["name"], editor["holds_lock"]) for editor in view["editors"]]


def editing_markers(html):
    return re.findall(r'<span class="editing-marker"[^>]*>([^<]*)</span>', html)


def story_row(html, story):
    """Return the list item of a dashboard panel that links ``story``."""
    return re.search(rf"<li>(?:(?!</li>).)*{re.escape(story.headline)}.*?</li>", html, re.S).group()


def panel(html, title):
    """Return the dashboard panel headed ``title``."""
    return re.search(rf"<h2>{title}</h2>(.*?)</section>", html, re.S).group(1)


def keys_purged(cdn):
    return {key for request in cdn.requests for key in request.headers["surrogate-key"].split()}


@pytest.fixture
def fastly(settings, django_capture_on_commit_callbacks):
    """Send purges to a recording stand-in for Fastly's API, once the site's settings exist."""
    # Made on first use, which purges every page; left pending, that purge would swallow
    # the changes a test makes after it.
    with django_capture_on_commit_callbacks(execute=True):
        SiteSettings.load()
    server = RecordingServer().start()
    settings.CDN_PURGE = "fastly"
    settings.FASTLY_API_URL = server.url
    settings.FASTLY_API_TOKEN = "fastly-token-from-the-environment"
    settings.FASTLY_SERVICE_ID = "SU1Z0isxPaozGVKXdv0eY"
    yield server
    server.stop()


# Autosave refusals: each stores nothing and says why -------------------------------------


def test_autosave_of_a_story_deleted_after_its_form_was_opened_is_refused(amal, live_story):
    browser = signed_in(amal)
    _, fields = open_form(browser, change_url(live_story))
    url = autosave_url(live_story)
    live_story.delete()

    response = browser.post(url, {**fields, "headline": "Typed into a deleted story"})

    assert response.status_code == 404
    assert "no longer exists" in refusal(response)
    assert not WorkingCopy.objects.exists()


@pytest.mark.parametrize("story_id", ["999999", "not-a-story"])
def test_autosave_of_a_story_that_never_existed_is_refused(amal, story_id):
    response = signed_in(amal).post(
        f"/admin/articles/article/{story_id}/autosave/", form_data(headline="Forged")
    )

    assert response.status_code == 404
    assert "no longer exists" in refusal(response)
    assert not WorkingCopy.objects.exists()


def test_autosave_by_a_reporter_on_someone_elses_draft_is_refused(rita, amal):
    draft = ArticleFactory(status=Article.Status.DRAFT, published_at=None, created_by=amal)

    response = signed_in(rita).post(autosave_url(draft), form_data(draft, headline="Mine now"))

    assert response.status_code == 403
    assert "cannot edit this story" in refusal(response)
    assert not WorkingCopy.objects.exists()


@pytest.mark.parametrize(
    "url",
    [autosave_url, lambda story: NEW_STORY_AUTOSAVE_URL, heartbeat_url],
    ids=["story autosave", "new story autosave", "heartbeat"],
)
def test_audience_staff_are_refused_by_the_story_form_endpoints(clock, live_story, url):
    audience = signed_in(UserFactory(username="aud", role="Audience"))

    response = audience.post(url(live_story), {**form_data(live_story), "autosave_key": "a" * 32})

    assert response.status_code == 403
    assert "cannot" in refusal(response)
    assert not WorkingCopy.objects.exists()


def test_autosave_over_the_size_limit_is_refused_and_asks_for_a_save(amal, live_story, settings):
    settings.AUTOSAVE_MAX_BYTES = 4096
    browser = signed_in(amal)
    _, fields = open_form(browser, change_url(live_story))
    browser.post(autosave_url(live_story), {**fields, "headline": "Port stays shut"})
    earlier = WorkingCopy.objects.get()

    response = browser.post(autosave_url(live_story), {
        **fields, "headline": "Port stays shut all week", "body": "<p>Long story. " * 500,
    })  # fmt: skip

    assert response.status_code == 413
    assert "too long to keep automatically" in refusal(response)
    assert "save it" in refusal(response)
    kept = WorkingCopy.objects.get()  # the last copy that fitted, as it was
    assert (kept.headline, kept.saved_at, kept.form_data) == (
        earlier.headline, earlier.saved_at, earlier.form_data,
    )  # fmt: skip


def test_autosave_only_accepts_a_post(amal, live_story):
    browser = signed_in(amal)

    for url in (autosave_url(live_story), NEW_STORY_AUTOSAVE_URL):
        response = browser.get(url, form_data(live_story))
        assert response.status_code == 405
        assert response["Allow"] == "POST"
    assert not WorkingCopy.objects.exists()


@pytest.mark.parametrize(
    "key",
    ["", "abc123", "z" * 32, "a" * 33, "../" + "a" * 29],
    ids=["missing", "short", "not-hex", "long", "path"],
)
def test_new_story_autosave_needs_the_key_its_add_form_was_given(amal, key):
    fields = {**form_data(headline="Never saved"), "autosave_key": key}
    if not key:
        del fields["autosave_key"]

    response = signed_in(amal).post(NEW_STORY_AUTOSAVE_URL, fields)

    assert response.status_code == 400
    assert "reload" in refusal(response)
    assert not WorkingCopy.objects.exists()


# Autosave never changes the story ---------------------------------------------------------


def test_autosave_leaves_the_story_its_history_its_address_and_the_front_cache_alone(
    amal, fastly, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        story = ArticleFactory(
            headline="Port reopens after the storm", authors=[AuthorFactory(name="Zeina Haddad")]
        )
    browser = signed_in(amal)
    _, fields = open_form(browser, change_url(story))
    before, versions = stored(story), Version.objects.get_for_object(story).count()
    fastly.requests.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(autosave_url(story), {
            **fields,
            "headline": "Port stays shut, council says",
            "slug": "port-stays-shut",
            "body": "<p>A half-written rewrite.</p>",
        })  # fmt: skip

    assert response.status_code == 200
    assert "saved_at" in response.json()
    assert WorkingCopy.objects.get(user=amal, article=story).headline == (
        "Port stays shut, council says"
    )
    assert stored(story) == before
    page = public_page(story)
    assert "Port reopens after the storm" in page
    assert "Port stays shut" not in page and "half-written" not in page
    assert Version.objects.get_for_object(story).count() == versions
    assert not ArticleRedirect.objects.exists()
    assert fastly.requests == []

    # The control: the same setup hears the purge of a real save of the live story.
    with django_capture_on_commit_callbacks(execute=True):
        saved = browser.post(change_url(story), {**fields, "headline": "Port reopens at last"})
    assert saved.status_code == 302
    assert f"article-{story.pk}" in keys_purged(fastly)


# Working copies -----------------------------------------------------------------------------


def test_each_person_keeps_one_working_copy_per_story_replaced_by_each_autosave(
    amal, basil, live_story
):
    first, second = signed_in(amal), signed_in(basil)
    _, amals_form = open_form(first, change_url(live_story))
    _, basils_form = open_form(second, change_url(live_story))

    for headline in ("Port reopens", "Port reopens after a week", "Port reopens at dawn"):
        saved = first.post(autosave_url(live_story), {**amals_form, "headline": headline})
        assert saved.status_code == 200
    saved = second.post(autosave_url(live_story), {**basils_form, "headline": "Basil's"})
    assert saved.status_code == 200

    amals, basils = WorkingCopy.objects.get(user=amal), WorkingCopy.objects.get(user=basil)
    assert WorkingCopy.objects.count() == 2
    assert amals.headline == "Port reopens at dawn"
    assert ["headline", "Port reopens at dawn"] in amals.form_data
    assert basils.headline == "Basil's"


def test_reopening_the_story_offers_the_unsaved_changes_and_names_what_differs(amal, live_story):
    browser = signed_in(amal)
    _, fields = open_form(browser, change_url(live_story))
    browser.post(autosave_url(live_story), {**fields, "headline": "Port stays shut"})
    copy = WorkingCopy.objects.get()

    html, _ = open_form(browser, change_url(live_story))

    offer = re.search(r'aria-label="Unsaved changes">(.*?)</div>', html, re.S).group(1)
    assert "You have unsaved changes from 09:41." in offer
    changed = re.findall(r"<li><strong>([^<]+):</strong>", offer)
    assert changed == ["Headline"]
    assert "stays" in offer
    assert f'href="?restore={copy.pk}"' in offer
    assert f'formaction="{discard_copy_url(copy)}"' in offer
    # The form itself still holds the story as saved until the person restores.
    assert 'value="Port reopens after the storm"' in html


def test_the_dashboard_lists_unsaved_changes_to_a_story_with_a_way_back(amal, live_story):
    browser = signed_in(amal)
    _, fields = open_form(browser, change_url(live_story))
    browser.post(autosave_url(live_story), {**fields, "headline": "Port stays shut"})
    copy = WorkingCopy.objects.get()

    unsaved = panel(browser.get(DASHBOARD_URL).content.decode(), "Unsaved drafts")

    assert "Changes to “Port reopens after the storm”" in unsaved
    assert f'href="{change_url(live_story)}?restore={copy.pk}"' in unsaved


def test_restoring_puts_the_typed_text_back_in_the_form(amal, live_story):
    browser = signed_in(amal)
    _, fields = open_form(browser, change_url(live_story))
    browser.post(autosave_url(live_story), {
        **fields, "headline": "Port stays shut", "body": "<p>Council keeps the port shut.</p>",
    })  # fmt: skip
    copy = WorkingCopy.objects.get()

    html, restored = open_form(browser, f"{change_url(live_story)}?restore={copy.pk}")

    assert "These are your unsaved changes from 09:41." in html
    assert restored["headline"] == ["Port stays shut"]
    assert "Council keeps the port shut." in restored["body"][0]
    assert stored(live_story)[0] == "Port reopens after the storm"


def test_a_working_copy_is_private_to_the_person_who_typed_it(amal, basil, live_story):
    first, second = signed_in(amal), signed_in(basil)
    _, fields = open_form(first, change_url(live_story))
    first.post(autosave_url(live_story), {**fields, "headline": "Amal's secret draft"})
    copy = WorkingCopy.objects.get()

    html, restored = open_form(second, f"{change_url(live_story)}?restore={copy.pk}")
    discarded = second.post(discard_copy_url(copy))

    assert restored["headline"] == ["Port reopens after the storm"]
    assert "Amal's secret draft" not in html and "unsaved changes" not in html
    assert discarded.status_code == 404
    assert WorkingCopy.objects.filter(pk=copy.pk).exists()


def test_a_working_copy_is_restored_only_into_the_story_it_was_typed_for(amal, live_story):
    other = ArticleFactory(headline="Council approves the budget")
    browser = signed_in(amal)
    _, fields = open_form(browser, change_url(live_story))
    browser.post(autosave_url(live_story), {**fields, "headline": "Port stays shut"})
    copy = WorkingCopy.objects.get()

    other_html, other_form = open_form(browser, f"{change_url(other)}?restore={copy.pk}")
    add_html, add_form = open_form(browser, f"{ADD_URL}?restore={copy.pk}")

    assert other_form["headline"] == ["Council approves the budget"]
    assert "Port stays shut" not in other_html
    assert "Port stays shut" not in add_html
    assert add_form["headline"] == [""]


def test_restoring_after_someone_else_saved_warns_before_overwriting(
    amal, basil, live_story, time_machine
):
    first, second = signed_in(amal), signed_in(basil)
    _, amals_form = open_form(first, change_url(live_story))
    first.post(autosave_url(live_story), {**amals_form, "headline": "Amal's headline"})
    time_machine.shift(timedelta(minutes=2))
    _, basils_form = open_form(second, change_url(live_story))
    second.post(take_over_url(live_story), HTTP_ACCEPT="application/json")
    second.post(change_url(live_story), {**basils_form, "headline": "Basil's headline"})
    first.post(take_over_url(live_story), HTTP_ACCEPT="application/json")
    copy = WorkingCopy.objects.get(user=amal)

    offer, _ = open_form(first, change_url(live_story))
    html, restored = open_form(first, f"{change_url(live_story)}?restore={copy.pk}")
    refused = first.post(change_url(live_story), {**restored, "_save": "Save"})

    assert "The story has been saved since." in offer
    assert "The story was saved again at 09:43, after you typed these changes" in html
    assert refused.status_code == 200
    assert "Basil Brown changed this story at 09:43:00" in refused.content.decode()
    assert stored(live_story)[0] == "Basil's headline"
    assert WorkingCopy.objects.filter(user=amal).exists()


def test_discarding_the_working_copy_removes_it(amal, live_story):
    browser = signed_in(amal)
    _, fields = open_form(browser, change_url(live_story))
    browser.post(autosave_url(live_story), {**fields, "headline": "Port stays shut"})
    copy = WorkingCopy.objects.get()

    response = browser.post(discard_copy_url(copy), follow=True)

    assert response.redirect_chain[0] == (change_url(live_story), 302)
    assert "Your unsaved changes were discarded." in messages_in(response)
    assert not WorkingCopy.objects.exists()
    assert "You have unsaved changes" not in response.content.decode()


def test_saving_the_story_removes_the_savers_working_copy_only(amal, basil, live_story):
    first, second = signed_in(amal), signed_in(basil)
    _, amals_form = open_form(first, change_url(live_story))
    _, basils_form = open_form(second, change_url(live_story))
    first.post(autosave_url(live_story), {**amals_form, "headline": "Port reopens at dawn"})
    second.post(autosave_url(live_story), {**basils_form, "headline": "Basil's idea"})

    saved = first.post(change_url(live_story), {**amals_form, "headline": "Port reopens at dawn"})

    assert saved.status_code == 302
    assert stored(live_story)[0] == "Port reopens at dawn"
    assert list(WorkingCopy.objects.values_list("user__username", flat=True)) == ["basil"]


def test_a_working_copy_identical_to_the_story_is_not_offered(amal, live_story):
    browser = signed_in(amal)
    _, fields = open_form(browser, change_url(live_story))
    assert browser.post(autosave_url(live_story), fields).status_code == 200

    html, _ = open_form(browser, change_url(live_story))
    dashboard = browser.get(DASHBOARD_URL).content.decode()

    assert "You have unsaved changes" not in html
    assert "Unsaved drafts" not in dashboard


def test_a_new_story_autosave_waits_on_the_dashboard_until_the_story_is_saved(amal):
    browser = signed_in(amal)
    html, fields = open_form(browser, ADD_URL)
    key = autosave_key(html)

    response = browser.post(NEW_STORY_AUTOSAVE_URL, {**fields, "headline": "Flood barrier fails"})
    assert response.status_code == 200, response.content
    copy = WorkingCopy.objects.get()
    dashboard = browser.get(DASHBOARD_URL).content.decode()
    unsaved = panel(dashboard, "Unsaved drafts")
    assert f'href="{ADD_URL}?restore={copy.pk}"' in unsaved
    assert "Flood barrier fails" in unsaved and "(never saved)" in unsaved

    restored_html, restored = open_form(browser, f"{ADD_URL}?restore={copy.pk}")
    assert restored["headline"] == ["Flood barrier fails"]
    assert restored["autosave_key"] == [key]  # so autosaves go on replacing the same copy
    assert "These are your unsaved changes from 09:41." in restored_html

    saved = browser.post(ADD_URL, {**restored, "_save": "Save draft"})
    assert saved.status_code == 302
    assert Article.objects.get().headline == "Flood barrier fails"
    assert not WorkingCopy.objects.exists()
    assert "Unsaved drafts" not in browser.get(DASHBOARD_URL).content.decode()


def test_each_add_form_keeps_its_own_unsaved_draft(amal):
    browser = signed_in(amal)
    first_html, first = open_form(browser, ADD_URL)
    second_html, second = open_form(browser, ADD_URL)
    assert autosave_key(first_html) != autosave_key(second_html)

    browser.post(NEW_STORY_AUTOSAVE_URL, {**first, "headline": "Flood barrier"})
    browser.post(NEW_STORY_AUTOSAVE_URL, {**first, "headline": "Flood barrier fails"})
    browser.post(NEW_STORY_AUTOSAVE_URL, {**second, "headline": "Council meets"})

    assert sorted(WorkingCopy.objects.values_list("headline", flat=True)) == [
        "Council meets",
        "Flood barrier fails",
    ]


# Presence and soft locks ---------------------------------------------------------------------


def test_the_first_to_open_a_story_holds_its_lock_and_the_next_is_told(amal, basil, live_story):
    first, second = signed_in(amal), signed_in(basil)
    open_form(first, change_url(live_story))

    html, _ = open_form(second, change_url(live_story))
    basils_view = heartbeat(second, live_story)
    amals_view = heartbeat(first, live_story)

    assert "Amal Aziz is editing this story since 09:41." in html
    assert "You are viewing it read-only" in html
    assert basils_view["holds_lock"] is False
    assert basils_view["lock"]["holder"] == "Amal Aziz"
    assert present(basils_view) == [("Amal Aziz", True)]
    assert amals_view["holds_lock"] is True
    assert present(amals_view) == [("Basil Brown", False)]
    assert amals_view["modified_at"] == live_story.modified_at.isoformat()


def test_a_save_while_someone_else_holds_the_lock_is_refused_and_keeps_the_text(
    amal, basil, live_story
):
    first, second = signed_in(amal), signed_in(basil)
    open_form(first, change_url(live_story))
    _, fields = open_form(second, change_url(live_story))
    typed = {**fields, "headline": "Basil's rewrite"}
    second.post(autosave_url(live_story), typed)

    response = second.post(change_url(live_story), typed)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Amal Aziz is editing this story (since 09:41)." in html
    assert "Your changes have NOT been saved and are still in this form." in html
    assert form_fields(html)["headline"] == ["Basil's rewrite"]
    assert stored(live_story)[0] == "Port reopens after the storm"
    # Nothing was saved, so the unsaved text stays kept too, should Basil close the tab.
    assert WorkingCopy.objects.get(user=basil).headline == "Basil's rewrite"


def test_taking_over_moves_the_lock_and_the_previous_holder_is_told(
    amal, basil, live_story, time_machine
):
    first, second = signed_in(amal), signed_in(basil)
    _, amals_form = open_form(first, change_url(live_story))
    _, basils_form = open_form(second, change_url(live_story))
    time_machine.shift(timedelta(minutes=5))

    taken = second.post(take_over_url(live_story), HTTP_ACCEPT="application/json")
    told = heartbeat(first, live_story)

    assert taken.status_code == 200
    assert taken.json()["holds_lock"] is True
    assert taken.json()["lock"]["holder"] == "Basil Brown"
    assert told["holds_lock"] is False
    assert told["taken_over"]["by"] == "Basil Brown"
    assert told["taken_over"]["at_display"] == "09:46"
    assert told["lock"]["holder"] == "Basil Brown"

    # Amal's text is kept: her autosave is still accepted, as her working copy.
    kept = first.post(autosave_url(live_story), {**amals_form, "headline": "Amal's half-done"})
    assert kept.status_code == 200
    assert WorkingCopy.objects.get(user=amal).headline == "Amal's half-done"

    # The new holder's save goes through, and he keeps editing.
    saved = second.post(
        change_url(live_story), {**basils_form, "headline": "Basil's rewrite", "_continue": "1"}
    )
    assert saved.status_code == 302
    assert stored(live_story)[0] == "Basil's rewrite"

    # Amal's heartbeats never take the lock back, even once Basil has gone quiet.
    assert heartbeat(first, live_story)["holds_lock"] is False
    time_machine.shift(timedelta(seconds=61))
    assert heartbeat(first, live_story)["holds_lock"] is False


def test_the_previous_holder_gets_the_lock_back_only_by_taking_over(amal, basil, live_story):
    first, second = signed_in(amal), signed_in(basil)
    open_form(first, change_url(live_story))
    open_form(second, change_url(live_story))
    second.post(take_over_url(live_story), HTTP_ACCEPT="application/json")
    assert heartbeat(first, live_story)["holds_lock"] is False

    back = first.post(take_over_url(live_story), HTTP_ACCEPT="application/json").json()
    basils_view = heartbeat(second, live_story)

    assert back["holds_lock"] is True and back["taken_over"] is None
    assert basils_view["holds_lock"] is False
    assert basils_view["taken_over"]["by"] == "Amal Aziz"


def test_reopening_the_story_takes_a_free_lock_after_a_take_over(amal, basil, live_story):
    first, second = signed_in(amal), signed_in(basil)
    open_form(first, change_url(live_story))
    open_form(second, change_url(live_story))
    second.post(take_over_url(live_story), HTTP_ACCEPT="application/json")
    second.post(release_url(live_story), {"holder_only": "1"})  # Basil closes the story

    from_the_old_page = heartbeat(first, live_story)
    open_form(first, change_url(live_story))

    assert from_the_old_page["holds_lock"] is False and from_the_old_page["lock"] is None
    assert heartbeat(first, live_story)["holds_lock"] is True


def test_taking_over_from_the_form_comes_back_to_the_form_with_a_message(amal, basil, live_story):
    first, second = signed_in(amal), signed_in(basil)
    open_form(first, change_url(live_story))
    open_form(second, change_url(live_story))

    response = second.post(take_over_url(live_story), follow=True)

    assert response.redirect_chain[0] == (change_url(live_story), 302)
    assert "You are editing this story now." in messages_in(response)
    assert EditingSession.objects.get(holds_lock=True).user == basil


def test_a_reporter_cannot_take_over_a_story_they_cannot_edit(amal, rita, live_story):
    open_form(signed_in(amal), change_url(live_story))

    response = signed_in(rita).post(take_over_url(live_story), HTTP_ACCEPT="application/json")

    assert response.status_code == 403
    assert "cannot edit this story" in refusal(response)
    assert EditingSession.objects.get(holds_lock=True).user == amal


def test_someone_who_may_only_read_the_story_never_holds_its_lock(amal, rita, live_story):
    reader = signed_in(rita)  # a reporter, on a story that is not theirs
    open_form(reader, change_url(live_story))

    readers_view = heartbeat(reader, live_story)
    editors_view = heartbeat(signed_in(amal), live_story)

    assert readers_view["holds_lock"] is False and readers_view["lock"] is None
    assert editors_view["holds_lock"] is True
    assert present(editors_view) == [("Rita Reyes", False)]


def test_a_form_open_for_viewing_leaves_a_free_lock_free(amal, live_story):
    browser = signed_in(amal)

    viewing = heartbeat(browser, live_story, editing=False)
    editing = heartbeat(browser, live_story, editing=True)

    assert viewing["holds_lock"] is False and viewing["lock"] is None
    assert editing["holds_lock"] is True and editing["lock"]["holder"] == "Amal Aziz"


@pytest.mark.parametrize("url", [heartbeat_url, take_over_url, release_url])
def test_the_lock_endpoints_say_when_the_story_is_gone(amal, live_story, url):
    browser = signed_in(amal)
    open_form(browser, change_url(live_story))
    address = url(live_story)
    live_story.delete()

    response = browser.post(address, {"editing": "1"}, HTTP_ACCEPT="application/json")

    assert response.status_code == 404
    assert "no longer exists" in refusal(response)


def test_a_lock_expires_when_its_holders_heartbeats_stop(amal, basil, live_story, time_machine):
    first, second = signed_in(amal), signed_in(basil)
    open_form(first, change_url(live_story))  # then Amal's laptop goes to sleep
    open_form(second, change_url(live_story))

    time_machine.shift(timedelta(seconds=59))
    still_held = heartbeat(second, live_story)
    time_machine.shift(timedelta(seconds=2))
    expired = heartbeat(second, live_story)
    amal_wakes = heartbeat(first, live_story)

    assert still_held["holds_lock"] is False and still_held["lock"]["holder"] == "Amal Aziz"
    assert expired["holds_lock"] is True and expired["lock"]["holder"] == "Basil Brown"
    assert expired["editors"] == []  # Amal has left, as far as anyone can tell
    assert amal_wakes["holds_lock"] is False
    assert amal_wakes["taken_over"]["by"] == "Basil Brown"


def test_closing_the_form_frees_the_lock_for_the_next_person(amal, basil, live_story):
    first, second = signed_in(amal), signed_in(basil)
    open_form(first, change_url(live_story))
    open_form(second, change_url(live_story))

    closed = first.post(release_url(live_story), {"holder_only": "1"})
    basils_view = heartbeat(second, live_story)

    assert closed.status_code == 204
    assert basils_view["holds_lock"] is True
    assert basils_view["editors"] == []


def test_an_editor_may_release_anyones_lock_and_the_holder_is_told(amal, rita, basil):
    draft = ArticleFactory(status=Article.Status.DRAFT, published_at=None, created_by=rita)
    reporter = signed_in(rita)
    open_form(reporter, change_url(draft))

    response = signed_in(basil).post(release_url(draft), follow=True)
    told = heartbeat(reporter, draft)

    # Back to the list, not to the story: opening it would take the lock just freed.
    assert response.redirect_chain[0] == (CHANGELIST_URL, 302)
    assert "The lock is released: anyone may edit the story now." in messages_in(response)
    assert editing_markers(response.content.decode()) == []
    assert told["holds_lock"] is False
    assert told["lock"] is None
    assert told["taken_over"]["by"] == "Basil Brown"


@pytest.mark.parametrize("sent", [{"holder_only": "1"}, {}], ids=["closing", "release-button"])
def test_a_reporter_cannot_release_someone_elses_lock(amal, rita, sent):
    draft = ArticleFactory(status=Article.Status.DRAFT, published_at=None, created_by=rita)
    editor = signed_in(amal)
    open_form(editor, change_url(draft))
    reporter = signed_in(rita)
    open_form(reporter, change_url(draft))

    reporter.post(release_url(draft), sent)

    assert heartbeat(editor, draft)["holds_lock"] is True
    assert heartbeat(reporter, draft)["lock"]["holder"] == "Amal Aziz"


def test_the_story_list_and_dashboard_mark_a_story_being_edited_until_the_lock_expires(
    amal, basil, live_story, time_machine
):
    other = ArticleFactory(headline="Nobody is on this one")
    open_form(signed_in(amal), change_url(live_story))
    colleague = signed_in(basil)

    listing = colleague.get(CHANGELIST_URL).content.decode()
    dashboard = colleague.get(DASHBOARD_URL).content.decode()
    time_machine.shift(timedelta(seconds=61))
    listing_later = colleague.get(CHANGELIST_URL).content.decode()
    dashboard_later = colleague.get(DASHBOARD_URL).content.decode()

    assert editing_markers(listing) == ["✎ Amal Aziz"]
    assert 'title="Being edited by Amal Aziz"' in listing
    published = panel(dashboard, "Recently published")
    assert editing_markers(story_row(published, live_story)) == ["✎ Amal Aziz"]
    assert editing_markers(story_row(published, other)) == []
    assert editing_markers(listing_later) == []
    assert editing_markers(dashboard_later) == []


# Pending updates to published stories -----------------------------------------------------


def staged(browser, story, **changes):
    """Save the story form as an editor would with "Save as a pending update"."""
    _, fields = open_form(browser, change_url(story))
    response = browser.post(change_url(story), {**fields, **changes, "_stage": "1"})
    assert response.status_code == 302, form_errors(response)
    return response


def test_a_staged_update_leaves_readers_on_the_live_story(amal, live_story):
    browser = signed_in(amal)
    before, versions = stored(live_story), Version.objects.get_for_object(live_story).count()

    response = staged(browser, live_story, headline="Port reopens, ferries delayed")

    assert response["Location"] == change_url(live_story)
    assert stored(live_story)[:3] == before[:3]  # headline, body and address as they were
    assert stored(live_story)[4] == before[4]  # not "Updated"
    assert "Port reopens after the storm" in public_page(live_story)
    assert "ferries delayed" not in public_page(live_story)
    assert Version.objects.get_for_object(live_story).count() == versions
    update = PendingUpdate.objects.get(article=live_story)
    assert update.content["fields"]["headline"] == "Port reopens, ferries delayed"
    assert update.saved_by == amal

    preview = browser.get(f"/preview/{live_story.pk}/").content.decode()
    assert "PENDING UPDATE" in preview and "Port reopens, ferries delayed" in preview

    html, fields = open_form(browser, change_url(live_story))
    assert "This form shows a pending update" in html
    assert fields["headline"] == ["Port reopens, ferries delayed"]
    assert fields["bylines-0-author"] == [str(live_story.bylines.get().author_id)]


def test_a_shared_preview_link_shows_the_pending_update(amal, live_story):
    browser = signed_in(amal)
    staged(browser, live_story, headline="Port reopens, ferries delayed")

    response = browser.post(f"/admin/articles/article/{live_story.pk}/preview-link/", follow=True)
    link = re.search(r"(/preview/shared/[^\"<\s]+/)", " ".join(messages_in(response))).group(1)
    shared = Client().get(link).content.decode()

    assert "PENDING UPDATE" in shared
    assert "Port reopens, ferries delayed" in shared
    assert "Port reopens after the storm" not in shared


@pytest.mark.parametrize("substantive", [True, False], ids=["substantive", "minor"])
def test_publishing_the_update_shows_it_to_readers_as_a_new_revision(
    amal, live_story, time_machine, substantive
):
    browser = signed_in(amal)
    ticked = {"substantive_update": "on"} if substantive else {}
    staged(browser, live_story, headline="Port reopens, ferries delayed", **ticked)
    versions = Version.objects.get_for_object(live_story).count()
    updated_before = stored(live_story)[4]
    time_machine.shift(timedelta(minutes=20))

    html, fields = open_form(browser, change_url(live_story))
    assert 'name="_publish_update"' in html
    assert ("substantive_update" in fields) is substantive  # the tick is kept with the update
    response = browser.post(change_url(live_story), {**fields, "_publish_update": "1"}, follow=True)

    assert "“Port reopens, ferries delayed”: The update is published: readers see it now." in (
        messages_in(response)
    )
    page = public_page(live_story)
    assert "Port reopens, ferries delayed" in page
    assert not PendingUpdate.objects.exists()
    assert Version.objects.get_for_object(live_story).count() == versions + 1
    assert [str(byline.author) for byline in live_story.bylines.all()] == ["Zeina Haddad"]
    if substantive:
        assert stored(live_story)[4] == timezone.make_aware(datetime(2026, 3, 3, 10, 1))
        assert "Updated" in page
    else:
        assert stored(live_story)[4] == updated_before
        assert "Updated" not in page


def test_staging_purges_nothing_and_publishing_the_update_purges_the_story(
    amal, fastly, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        story = ArticleFactory(authors=[AuthorFactory()])
    browser = signed_in(amal)
    fastly.requests.clear()

    with django_capture_on_commit_callbacks(execute=True):
        staged(browser, story, headline="Port reopens, ferries delayed")
    assert fastly.requests == []

    _, fields = open_form(browser, change_url(story))
    with django_capture_on_commit_callbacks(execute=True):
        browser.post(change_url(story), {**fields, "_publish_update": "1"})
    assert f"article-{story.pk}" in keys_purged(fastly)


def test_a_reporters_edit_to_their_live_story_waits_for_an_editor_even_if_forged(rita):
    story = ArticleFactory(
        headline="Port reopens after the storm", created_by=rita, authors=[AuthorFactory()]
    )
    reporter = signed_in(rita)
    html, fields = open_form(reporter, change_url(story))
    assert 'name="_publish_update"' not in html and 'name="_stage"' not in html

    waiting = reporter.post(change_url(story), {**fields, "headline": "Port reopens at dawn"})
    _, fields = open_form(reporter, change_url(story))
    forged = reporter.post(
        change_url(story), {**fields, "headline": "Port reopens NOW", "_publish_update": "1"}
    )

    assert waiting.status_code == 302
    assert forged.status_code == 403
    assert stored(story)[0] == "Port reopens after the storm"
    assert "Port reopens after the storm" in public_page(story)
    assert PendingUpdate.objects.get().content["fields"]["headline"] == "Port reopens at dawn"


def test_discarding_the_update_leaves_the_live_story(amal, live_story):
    browser = signed_in(amal)
    staged(browser, live_story, headline="Port reopens, ferries delayed")

    response = browser.post(discard_update_url(live_story), follow=True)

    assert "The pending update was discarded; the live story is unchanged." in (
        messages_in(response)
    )
    assert not PendingUpdate.objects.exists()
    assert stored(live_story)[0] == "Port reopens after the storm"
    assert "Port reopens after the storm" in public_page(live_story)
    _, fields = open_form(browser, change_url(live_story))
    assert fields["headline"] == ["Port reopens after the storm"]


def test_a_reporter_cannot_discard_an_editors_pending_update(amal, rita):
    story = ArticleFactory(created_by=rita, authors=[AuthorFactory()])
    staged(signed_in(amal), story, headline="The editor's update")

    response = signed_in(rita).post(discard_update_url(story))

    assert response.status_code == 403
    assert PendingUpdate.objects.get().content["fields"]["headline"] == "The editor's update"


def test_the_dashboard_and_the_story_list_show_pending_updates(amal, live_story):
    untouched = ArticleFactory(headline="Nothing waiting here")
    browser = signed_in(amal)
    staged(browser, live_story, headline="Port reopens, ferries delayed")

    dashboard = browser.get(DASHBOARD_URL).content.decode()
    pending_only = browser.get(CHANGELIST_URL, {"state": "pending"}).content.decode()

    waiting = panel(dashboard, "Pending updates")
    assert live_story.headline in waiting and untouched.headline not in waiting
    assert f'href="{CHANGELIST_URL}?state=pending"' in waiting
    assert live_story.headline in pending_only
    assert untouched.headline not in pending_only
    assert "update pending" in pending_only


# Query counts ------------------------------------------------------------------------------


def people_present(story, count):
    """Open ``story`` in ``count`` colleagues' browsers, each with unsaved work of their own."""
    for number in range(count):
        colleague = signed_in(UserFactory(username=f"colleague{number}", role="Editor"))
        _, fields = open_form(colleague, change_url(story))
        colleague.post(autosave_url(story), {**fields, "headline": f"Colleague {number}'s idea"})


@requires_postgres
@pytest.mark.parametrize("others", [1, 5])
def test_heartbeat_runs_a_fixed_number_of_queries(
    amal, live_story, others, django_assert_num_queries
):
    """Guard against a query per person present (names, lock) in the request every open form
    sends every few seconds."""
    browser = signed_in(amal)
    open_form(browser, change_url(live_story))
    people_present(live_story, others)
    heartbeat(browser, live_story)

    with django_assert_num_queries(12):
        state = heartbeat(browser, live_story)

    assert state["holds_lock"] is True
    assert len(state["editors"]) == others


@requires_postgres
@pytest.mark.parametrize("others", [1, 5])
def test_autosave_runs_a_fixed_number_of_queries(
    amal, live_story, others, django_assert_num_queries
):
    """Guard against autosave, sent after every pause in typing, reading the story's relations
    or everyone's working copies."""
    browser = signed_in(amal)
    _, fields = open_form(browser, change_url(live_story))
    people_present(live_story, others)
    browser.post(autosave_url(live_story), {**fields, "headline": "First pause"})

    with django_assert_num_queries(10):
        response = browser.post(autosave_url(live_story), {**fields, "headline": "Second pause"})

    assert response.status_code == 200
    assert WorkingCopy.objects.get(user=amal).headline == "Second pause"
    assert WorkingCopy.objects.count() == others + 1


def form_errors(response):
    """Return the admin form's and inlines' errors, for failing assertions to show."""
    context = response.context
    if not context or "adminform" not in context:
        return response.status_code
    errors = dict(context["adminform"].form.errors)
    for formset in context["inline_admin_formsets"]:
        errors[formset.formset.prefix] = [formset.formset.errors, formset.formset.non_form_errors()]
    return errors
