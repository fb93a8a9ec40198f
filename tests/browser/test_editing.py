"""Working on a story in the real admin: autosaved unsaved work, presence, locks, pending updates.

Each person is a browser context of their own, signed in through the login page. The
live server runs in this process, so the `settings` fixture shortens the heartbeat, the
lock's life and the autosave delay for it.
"""

import re
import threading
import time

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from articles.models import Article, WorkingCopy
from tests.browser.signing_in import log_in
from tests.factories import ArticleFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

# Long enough for several heartbeats and a lock's whole life on a slow machine.
WAIT = 20_000
OLD_HEADLINE = "Council approves the new harbour budget"
OLD_BODY = "<p>The council met on Tuesday evening.</p><p>The vote was close.</p>"
# No word in common with the old headline, so that the summary of changes shows it whole.
NEW_HEADLINE = "Storm surge floods old town overnight"
NEW_TEXT = "Residents were woken by sirens at dawn."
CLOCK = r"\d\d:\d\d"


@pytest.fixture(autouse=True)
def short_timings(settings):
    settings.EDITING_HEARTBEAT_SECONDS = 1
    settings.EDITING_LOCK_SECONDS = 4
    settings.AUTOSAVE_DELAY_SECONDS = 0.3
    return settings


@pytest.fixture
def amira(db):
    return UserFactory(username="amira", first_name="Amira", last_name="Haddad", role="Editor")


@pytest.fixture
def bob(db):
    return UserFactory(username="bob", first_name="Bob", last_name="Smith", role="Editor")


@pytest.fixture
def story(db):
    return ArticleFactory(headline=OLD_HEADLINE, body=OLD_BODY, byline="AM")


class Person:
    """One person at their own browser: a context, its page, and what its console reported."""

    def __init__(self, browser, base_url, username):
        self.base_url = base_url
        self.context = browser.new_context(viewport={"width": 1280, "height": 1000})
        self.errors = []
        self.context.on("console", self.note_console)
        self.context.on("weberror", lambda error: self.errors.append(str(error.error)))
        self.page = self.context.new_page()
        if username:
            log_in(self.page, base_url, username)

    def note_console(self, message):
        # Chromium reports CSP violations and script errors as console errors. The site
        # has no favicon; the browser asking for one is no fault of the story form.
        if message.type == "error" and not message.location["url"].endswith("/favicon.ico"):
            self.errors.append(message.text)

    def open(self, path):
        self.page.goto(self.base_url + path)
        return self.page

    def new_page(self):
        self.page = self.context.new_page()
        return self.page

    def close(self):
        self.context.close()


@pytest.fixture
def people(browser, live_server):
    opened = []

    def person(username=None):
        opened.append(Person(browser, live_server.url, username))
        return opened[-1]

    yield person
    # A heartbeat or a goodbye beacon still being handled while the test database is
    # emptied deadlocks the flush: cut the browsers off, then let the server finish.
    for each in opened:
        each.context.set_offline(True)
        each.close()
    wait_until(server_is_idle, "the live server is still answering requests", fail=False)


def server_is_idle():
    # The live server answers each connection in a thread of socketserver's ThreadingMixIn.
    return not any("process_request_thread" in thread.name for thread in threading.enumerate())


def change_url(article):
    return reverse("admin:articles_article_change", args=[article.pk])


def editable(page):
    return page.locator(".ck-editor__editable").first


def type_into_body(page, text):
    """Put the cursor at the end of the story's body and type ``text`` there."""
    editable(page).click()
    page.keyboard.press("Control+End")
    page.keyboard.type(" " + text)


def wait_until(check, message, *, fail=True):
    """Wait for ``check()`` to hold, as the server settles what the browser sent."""
    deadline = time.monotonic() + WAIT / 1000
    while not check():
        if time.monotonic() > deadline:
            if fail:
                raise AssertionError(message)
            return
        time.sleep(0.05)


def keeps_typed_text(user, article=None):
    """Return whether ``user``'s working copy holds the new headline and the typed body text."""
    copy = WorkingCopy.objects.filter(user=user, article=article).first()
    fields = dict(copy.form_data) if copy else {}
    return fields.get("headline") == NEW_HEADLINE and NEW_TEXT in fields.get("body", "")


def expect_kept(page):
    expect(page.locator("#autosave-status")).to_contain_text(
        re.compile(rf"kept on the server at {CLOCK}"), timeout=WAIT
    )


def expect_read_only(page):
    expect(page.locator("#id_headline")).to_be_disabled(timeout=WAIT)
    expect(page.locator(".ck-editor__editable[contenteditable=false]")).to_have_count(
        1, timeout=WAIT
    )


def expect_editable(page):
    expect(page.locator("#id_headline")).to_be_enabled(timeout=WAIT)
    expect(page.locator(".ck-editor__editable[contenteditable=true]")).to_have_count(
        1, timeout=WAIT
    )


def expect_reader_sees(reader, headline):
    expect(reader.get_by_role("heading", level=1)).to_have_text(headline, timeout=WAIT)


def test_unsaved_changes_to_a_story_are_kept_privately_and_restored(people, amira, story):
    editor = people("amira")
    page = editor.open(change_url(story))
    page.locator("#id_headline").fill(NEW_HEADLINE)
    type_into_body(page, NEW_TEXT)
    expect_kept(page)
    wait_until(
        lambda: keeps_typed_text(amira, story), "the typed text never reached the working copy"
    )

    reader = people().open(story.get_absolute_url())
    expect_reader_sees(reader, OLD_HEADLINE)
    assert NEW_TEXT not in reader.locator(".story-body").inner_text()

    page.close()  # the tab goes away without a save

    story.refresh_from_db()
    assert story.headline == OLD_HEADLINE
    assert NEW_TEXT not in story.body
    reader.reload()
    expect_reader_sees(reader, OLD_HEADLINE)
    assert NEW_TEXT not in reader.locator(".story-body").inner_text()

    again = people("amira")
    page = again.open(change_url(story))
    offer = page.locator(".editing-offer")
    expect(offer).to_contain_text(re.compile(rf"You have unsaved changes from {CLOCK}"))
    expect(offer.locator("li", has_text="Headline")).to_contain_text(NEW_HEADLINE)

    offer.get_by_role("link", name="Restore").click()
    expect(page.locator(".editing-restored")).to_contain_text("These are your unsaved changes")
    expect(page.locator("#id_headline")).to_have_value(NEW_HEADLINE)
    expect(editable(page)).to_contain_text(NEW_TEXT)

    page.locator("input[name=_continue]").click()
    expect(page.locator(".messagelist")).to_contain_text("changed successfully", timeout=WAIT)
    story.refresh_from_db()
    assert story.headline == NEW_HEADLINE
    assert NEW_TEXT in story.body
    assert not WorkingCopy.objects.filter(user=amira).exists()
    assert editor.errors == [] and again.errors == []


def test_a_story_never_saved_waits_on_the_dashboard(people, amira):
    writer = people("amira")
    page = writer.open(reverse("admin:articles_article_add"))
    page.locator("#id_headline").fill(NEW_HEADLINE)
    type_into_body(page, NEW_TEXT)
    expect_kept(page)
    wait_until(lambda: keeps_typed_text(amira), "the new story never reached the working copy")
    page.close()
    assert not Article.objects.exists()

    page = writer.new_page()
    page.goto(writer.base_url + reverse("admin:index"))
    drafts = page.locator("section.unsaved-work")
    expect(drafts.get_by_role("heading", name="Unsaved drafts")).to_be_visible()
    expect(drafts).to_contain_text("(never saved)")

    drafts.get_by_role("link", name=NEW_HEADLINE).click()
    expect(page).to_have_url(re.compile(r"/admin/articles/article/add/\?restore=\d+$"))
    expect(page.locator(".editing-restored")).to_contain_text("These are your unsaved changes")
    expect(page.locator("#id_headline")).to_have_value(NEW_HEADLINE)
    expect(editable(page)).to_contain_text(NEW_TEXT)
    assert not Article.objects.exists()
    assert writer.errors == []


def test_two_people_on_one_story_see_each_other(people, amira, bob, story):
    first = people("amira")
    a = first.open(change_url(story))
    expect_editable(a)

    second = people("bob")
    b = second.open(change_url(story))
    expect(b.locator("#presence")).to_contain_text(
        re.compile(rf"Amira Haddad is editing since {CLOCK}\.")
    )
    expect(b.locator("#lock-notice")).to_contain_text("Amira Haddad is editing this story")
    expect(b.locator("#lock-notice").get_by_role("button", name="Take over")).to_be_visible()
    expect_read_only(b)

    expect(a.locator("#presence")).to_contain_text(
        re.compile(rf"Bob Smith is viewing since {CLOCK}\."), timeout=WAIT
    )
    expect(a.locator("#lock-notice")).to_be_hidden()
    expect_editable(a)
    expect_read_only(b)
    assert first.errors == [] and second.errors == []


def test_taking_over_keeps_the_first_editors_unsaved_text(people, amira, bob, story, settings):
    # Autosave would not come for a long while: only the take-over can keep the text.
    settings.AUTOSAVE_DELAY_SECONDS = 60
    first = people("amira")
    a = first.open(change_url(story))
    expect_editable(a)
    a.locator("#id_headline").fill(NEW_HEADLINE)
    type_into_body(a, NEW_TEXT)

    second = people("bob")
    b = second.open(change_url(story))
    expect_read_only(b)
    b.locator("#lock-notice").get_by_role("button", name="Take over").click()
    expect_editable(b)
    expect(b.locator("#lock-notice")).to_be_hidden()

    expect_read_only(a)
    notice = a.locator("#lock-notice")
    expect(notice).to_contain_text(
        re.compile(rf"Bob Smith took over editing at {CLOCK}\."), timeout=WAIT
    )
    expect(notice).to_contain_text("Your unsaved changes are kept")
    assert keeps_typed_text(amira, story)
    story.refresh_from_db()
    assert story.headline == OLD_HEADLINE
    assert NEW_TEXT not in story.body

    notice.get_by_role("button", name="Take it back").click()
    offer = a.locator(".editing-offer")
    expect(offer).to_contain_text(re.compile(rf"You have unsaved changes from {CLOCK}"))
    expect(offer.locator("li", has_text="Headline")).to_contain_text(NEW_HEADLINE)
    expect(offer.locator("li", has_text="Body")).to_contain_text(NEW_TEXT)
    expect_editable(a)
    expect_read_only(b)
    story.refresh_from_db()
    assert story.headline == OLD_HEADLINE
    assert NEW_TEXT not in story.body
    assert first.errors == [] and second.errors == []


def test_closing_the_holders_page_frees_the_lock(people, amira, bob, story):
    first = people("amira")
    a = first.open(change_url(story))
    expect_editable(a)
    second = people("bob")
    b = second.open(change_url(story))
    expect_read_only(b)

    a.close()

    notice = b.locator("#lock-notice")
    expect(notice).to_contain_text("Nobody is editing this story now.", timeout=WAIT)
    expect(b.locator("#presence")).not_to_contain_text("Amira Haddad", timeout=WAIT)
    notice.get_by_role("button", name="Edit").click()
    expect_editable(b)
    assert first.errors == [] and second.errors == []


def test_a_lock_whose_holder_went_silent_expires(people, amira, bob, story):
    first = people("amira")
    a = first.open(change_url(story))
    expect_editable(a)
    second = people("bob")
    b = second.open(change_url(story))
    expect_read_only(b)

    # The connection drops, then the tab goes: no goodbye reaches the server.
    first.context.set_offline(True)
    a.close()

    expect(b.locator("#lock-notice")).to_contain_text(
        "Nobody is editing this story now.", timeout=WAIT
    )
    b.reload()
    expect_editable(b)
    expect(b.locator("#lock-notice")).to_be_hidden()
    assert second.errors == []


def test_a_pending_update_reaches_readers_only_when_published(people, amira, story):
    reader = people().open(story.get_absolute_url())
    expect_reader_sees(reader, OLD_HEADLINE)

    editor = people("amira")
    page = editor.open(change_url(story))
    page.locator("#id_headline").fill(NEW_HEADLINE)
    page.locator("input[name=_stage]").click()
    expect(page.locator(".messagelist")).to_contain_text(
        "the update is saved as pending", timeout=WAIT
    )

    reader.reload()
    expect_reader_sees(reader, OLD_HEADLINE)
    story.refresh_from_db()
    assert story.headline == OLD_HEADLINE

    page.goto(editor.base_url + reverse("articles:preview", kwargs={"pk": story.pk}))
    expect(page.locator(".preview-banner")).to_contain_text("PENDING UPDATE")
    expect(page.get_by_role("heading", level=1)).to_have_text(NEW_HEADLINE)

    page = editor.open(change_url(story))
    expect(page.locator("#id_headline")).to_have_value(NEW_HEADLINE)
    page.locator("input[name=_publish_update]").click()
    expect(page.locator(".messagelist")).to_contain_text("The update is published", timeout=WAIT)

    reader.reload()
    expect_reader_sees(reader, NEW_HEADLINE)
    story.refresh_from_db()
    assert story.headline == NEW_HEADLINE
    assert editor.errors == []
