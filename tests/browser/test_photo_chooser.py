"""The photo chooser on the story form, driven in Chromium as an editor uses it."""

import pytest

from tests.browser.signing_in import log_in
from tests.factories import PhotoFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_picking_a_photo_from_the_library_popup_shows_its_summary(live_server, page):
    UserFactory(username="ed", role="Editor")
    PhotoFactory(title="Aleppo at dusk", caption="Syrian pro-government forces in Aleppo.")
    base = live_server.url
    log_in(page, base, "ed")
    page.goto(base + "/admin/articles/article/add/")
    preview = page.locator(".photo-chooser-preview")
    assert preview.inner_text() == "No photo chosen."

    with page.expect_popup() as opened:
        page.locator("#lookup_id_lead_photo").click()
    library = opened.value
    with library.expect_event("close"):
        library.get_by_role("link", name="Aleppo at dusk").click()

    title = preview.locator(".photo-chooser-text strong")
    title.wait_for()
    assert title.inner_text() == "Aleppo at dusk"
    assert "Syrian pro-government forces in Aleppo." in preview.inner_text()
    assert "no photo number" not in preview.inner_text()
    assert preview.locator("img.photo-chooser-thumbnail").evaluate(
        "img => img.complete && img.naturalWidth > 0"
    )
