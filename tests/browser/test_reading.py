import pytest
from django.core.management import call_command

from articles.models import Article
from tests.factories import SEED, image_bytes

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def seed_story(tmp_path):
    photo = tmp_path / "lead.jpg"
    photo.write_bytes(image_bytes(width=1200, height=675))
    call_command("import_article", str(SEED), "--publish", "--photo", str(photo))
    return Article.objects.get()


def test_reader_sees_the_seed_story(live_server, page, seed_story):
    page.goto(live_server.url + "/")
    page.get_by_role("link", name=seed_story.headline).click()

    assert page.url == live_server.url + seed_story.get_absolute_url()
    assert page.get_by_role("heading", level=1).inner_text() == seed_story.headline
    assert page.locator(".dateline").inner_text() == "Published December 13th, 2016 - 12:12 GMT"
    caption = page.locator("figure.lead-photo figcaption")
    assert caption.inner_text() == "Syrian pro-government forces in Aleppo. (AFP/File)"
    image = page.locator("figure.lead-photo img")
    # The browser picks a resized copy from the srcset, never a broken image.
    assert image.evaluate("img => img.complete && img.naturalWidth") >= 320
    assert "/renditions/" in image.evaluate("img => img.currentSrc")
    assert page.locator(".story-body p").count() == 10
    assert page.locator(".byline").inner_text() == "AM"
    # The stylesheet is served (hashed, by WhiteNoise) and applied.
    assert page.locator(".masthead").evaluate("el => getComputedStyle(el).borderBottomStyle") == (
        "solid"
    )


def test_story_fits_a_phone_screen(live_server, phone_page, seed_story):
    phone_page.goto(live_server.url + seed_story.get_absolute_url())

    scroll_width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= 320
