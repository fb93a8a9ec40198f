"""A reporter files a story with a photo in the real admin; an editor publishes it."""

import re

import pytest

from articles.models import Article
from photos.models import Photo
from tests.browser.signing_in import choose_autocomplete, log_in
from tests.factories import SectionFactory, UserFactory, image_bytes

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_reporter_files_and_editor_publishes(live_server, browser, tmp_path):
    SectionFactory(name="The Loop", slug="the-loop")
    UserFactory(username="rita", role="Reporter")
    UserFactory(username="ed", role="Editor")
    photo_file = tmp_path / "aleppo.jpg"
    photo_file.write_bytes(image_bytes(width=1600, height=900))
    base = live_server.url

    reporter = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
    log_in(reporter, base, "rita")

    # The photo goes into the library with its caption and credit.
    reporter.goto(base + "/admin/photos/photo/add/")
    reporter.locator("input[type=file][name=image]").set_input_files(str(photo_file))
    reporter.locator("#id_caption").fill("Syrian pro-government forces in Aleppo.")
    reporter.locator("#id_credit").fill("AFP/File")
    reporter.locator("#id_alt_text").fill("Soldiers in a ruined street")
    reporter.locator("input[name=_save]").click()
    reporter.wait_for_url(re.compile(r".*/admin/photos/photo/$"))
    photo = Photo.objects.get()

    # The story is written in CKEditor 5: typing, bold and a link.
    reporter.goto(base + "/admin/articles/article/add/")
    reporter.locator("#id_headline").fill("Aleppo residents tweet harrowing goodbyes")
    editor_area = reporter.locator(".ck-editor__editable").first
    editor_area.click()
    reporter.keyboard.type("Residents of Aleppo have sent out desperate messages. ")
    reporter.keyboard.press("Control+B")
    reporter.keyboard.type("These fears are not unfounded.")
    reporter.keyboard.press("Control+B")
    reporter.keyboard.type(" Read the UN statement")
    for _ in range(len("UN statement")):
        reporter.keyboard.press("Shift+ArrowLeft")
    reporter.keyboard.press("Control+K")
    link_input = reporter.locator(".ck-balloon-panel_visible").get_by_label("Link URL")
    link_input.fill("https://www.ohchr.org/")
    link_input.press("Enter")
    choose_autocomplete(reporter, "section", "The Loop")
    reporter.locator("#id_byline").fill("AM")
    reporter.locator("#id_lead_photo").fill(str(photo.pk))
    reporter.locator("input[name=_submit_review]").click()
    reporter.wait_for_url(re.compile(r".*/admin/articles/article/\d+/change/$"))
    assert "Submitted for review" in reporter.locator(".messagelist").inner_text()

    story = Article.objects.get()
    assert story.status == Article.Status.REVIEW
    assert "<strong>These fears are not unfounded.</strong>" in story.body
    assert 'href="https://www.ohchr.org/"' in story.body
    assert 'rel="noopener noreferrer"' in story.body
    reporter.context.close()

    editor = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
    log_in(editor, base, "ed")
    editor.get_by_role("link", name="Aleppo residents tweet harrowing goodbyes").first.click()
    editor.locator("input[name=_publish]").click()
    editor.wait_for_url(re.compile(r".*/admin/articles/article/\d+/change/$"))
    assert "Published." in editor.locator(".messagelist").inner_text()
    editor.context.close()

    story.refresh_from_db()
    reader = browser.new_context().new_page()
    reader.goto(base + story.get_absolute_url())
    assert reader.get_by_role("heading", level=1).inner_text() == story.headline
    figure = reader.locator("figure.lead-photo")
    assert figure.locator("figcaption").inner_text() == (
        "Syrian pro-government forces in Aleppo. (AFP/File)"
    )
    assert figure.locator("img").evaluate("img => img.complete && img.naturalWidth > 0")
    assert reader.locator(".story-body strong").inner_text() == "These fears are not unfounded."
    assert reader.locator(".byline").inner_text() == "AM"
    reader.context.close()
