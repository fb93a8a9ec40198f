"""The reader's layout in Chromium at phone, tablet and desktop widths.

Every public page type fits its screen (no sideways scrolling), no card, headline or
photo lies on top of another, and links and buttons are big enough to tap. A story in
Arabic reads right to left; the publication's accent colour, the dark scheme, reduced
motion and printing are checked where readers would notice them.
"""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.utils import timezone

from articles.models import Article
from frontpage.services import front_page_draft, front_page_publish
from publication.models import (
    DARK_SURFACE,
    MINIMUM_CONTRAST,
    SiteSettings,
    contrast_ratio,
)
from tests.factories import (
    SEED,
    ArticleFactory,
    AuthorFactory,
    SectionFactory,
    UserFactory,
    image_bytes,
    photo_with_renditions,
)

WIDTHS = [375, 768, 1280]
PAGE_TYPES = ["home", "article", "article-arabic", "section", "search", "author"]
TAP_TARGET = 44
# What readers tap: navigation, buttons, and the links that stand alone rather than in text.
TAP_TARGETS = (
    "nav a, button, .search-link, .site-name a, .footer-links a, .tags a, .feed-link a, "
    ".author-links a, .newsletter-more a, .message-links a"
)
ARABIC_HEADLINE = "سكان حلب يودعون مدينتهم"

# Returns the pairs of boxes that overlap: siblings in each grid or list of cards, the
# blocks of each layout, and the parts of each card (photo, labels, headline, byline).
OVERLAPS = """() => {
  const shown = (element) => {
    const box = element.getBoundingClientRect();
    return box.width > 1 && box.height > 1 && getComputedStyle(element).visibility !== "hidden";
  };
  const name = (element) =>
    element.tagName.toLowerCase() + (element.className ? "." + element.className.split(" ")[0] : "")
    + ' "' + element.textContent.trim().slice(0, 30) + '"';
  const overlap = (a, b) => {
    const first = a.getBoundingClientRect(), second = b.getBoundingClientRect();
    const across = Math.min(first.right, second.right) - Math.max(first.left, second.left);
    const down = Math.min(first.bottom, second.bottom) - Math.max(first.top, second.top);
    return across > 1 && down > 1;
  };
  const groups = document.querySelectorAll(
    ".story-grid, .story-list, .home-top, .story-layout, .masthead-inner, .story-card, "
    + ".story-header, .byline-block, .footer-inner, .search-results"
  );
  const found = [];
  for (const group of groups) {
    const parts = [...group.children].filter(shown);
    parts.forEach((part, index) => {
      for (const other of parts.slice(index + 1)) {
        if (overlap(part, other)) found.push(name(part) + " overlaps " + name(other));
      }
    });
  }
  return found;
}"""

SMALL_TAP_TARGETS = """([selector, size]) => [...document.querySelectorAll(selector)]
  .map((element) => [element, element.getBoundingClientRect()])
  .filter(([element, box]) =>
    box.width > 1 && box.height > 1 && !element.closest(".visually-hidden"))
  .filter(([element, box]) => box.width < size - 0.5 || box.height < size - 0.5)
  .map(([element, box]) =>
    `${element.textContent.trim().slice(0, 30)} `
    + `(${Math.round(box.width)}×${Math.round(box.height)})`
  )"""

# The box of an element's text itself, not of the block that holds it.
TEXT_BOX = """(element) => {
  const range = document.createRange();
  range.selectNodeContents(element);
  const box = range.getBoundingClientRect();
  return {left: box.left, right: box.right};
}"""


@pytest.fixture
def site(tmp_path):
    """Return {page type: path} over a site whose pages show every kind of card and block."""
    SiteSettings.objects.create(
        site_name="The Harbour Times",
        tagline="Independent news from the coast",
        twitter_url="https://twitter.com/example",
        facebook_url="https://facebook.com/example",
    )
    photo = tmp_path / "lead.jpg"
    photo.write_bytes(image_bytes(width=1200, height=675))
    call_command("import_article", str(SEED), "--publish", "--photo", str(photo))
    seed = Article.objects.get()
    author = AuthorFactory(
        name="Zeina Haddad", role="Middle East correspondent", photo=photo_with_renditions()
    )
    seed.bylines.create(author=author, position=1)
    world = SectionFactory(name="World", slug="world", order=2)
    now = timezone.now()
    for number in range(10):
        ArticleFactory(
            section=world if number % 2 else seed.section,
            authors=[author],
            headline=f"Ceasefire talks resume as aid convoys wait at crossing number {number}",
            dek="Negotiators meet for a third day while hundreds of lorries queue in the heat.",
            story_type=Article.StoryType.ANALYSIS if number % 3 == 0 else Article.StoryType.NEWS,
            lead_photo=photo_with_renditions() if number % 4 else None,
            published_at=now - timedelta(hours=number + 1),
        )
    arabic = ArticleFactory(
        language="ar",
        section=world,
        authors=[author],
        headline=ARABIC_HEADLINE,
        dek="رسائل يائسة من الأحياء الشرقية.",
        body="<p>الفقرة الأولى من القصة.</p><p>الفقرة الثانية من القصة.</p>",
        lead_photo=photo_with_renditions(),
        published_at=now - timedelta(minutes=30),
    )
    editor = UserFactory(role="Editor")
    draft = front_page_draft(user=editor)
    draft.breaking_text = "Harbour bridge closed after a cargo ship hits a pillar"
    draft.breaking_url = seed.get_absolute_url()
    draft.save()
    front_page_publish(front_page=draft, user=editor)
    return {
        "home": "/",
        "article": seed.get_absolute_url(),
        "article-arabic": arabic.get_absolute_url(),
        "section": world.get_absolute_url(),
        "search": "/search/?q=ceasefire",
        "author": author.get_absolute_url(),
    }


def open_page(browser, url, *, width, **options):
    context = browser.new_context(viewport={"width": width, "height": 900}, **options)
    page = context.new_page()
    page.goto(url)
    return page


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("page_type", PAGE_TYPES)
def test_page_fits_the_screen_without_overlaps_and_with_tap_targets(
    live_server, browser, site, page_type, width
):
    page = open_page(browser, live_server.url + site[page_type], width=width)

    assert page.locator(".story-card, .story").count() > 0
    assert page.evaluate("document.scrollingElement.scrollWidth") <= page.evaluate(
        "window.innerWidth"
    )
    assert page.evaluate(OVERLAPS) == []
    assert page.evaluate(SMALL_TAP_TARGETS, [TAP_TARGETS, TAP_TARGET]) == []


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_home_page_leads_large_with_secondary_stories_beside_it_on_wide_screens(
    live_server, browser, site
):
    wide = open_page(browser, live_server.url + "/", width=1280)
    lead = wide.locator(".story-card--lead").bounding_box()
    beside = wide.locator(".home-secondary > li").first.bounding_box()
    photo = wide.locator(".story-card--lead .card-photo").bounding_box()

    assert beside["x"] >= lead["x"] + lead["width"]
    assert abs(beside["y"] - lead["y"]) < 2
    assert lead["width"] > 1.8 * beside["width"]
    assert photo["width"] / photo["height"] == pytest.approx(16 / 9, abs=0.02)

    phone = open_page(browser, live_server.url + "/", width=375)
    lead = phone.locator(".story-card--lead").bounding_box()
    below = phone.locator(".home-secondary > li").first.bounding_box()
    assert below["y"] >= lead["y"] + lead["height"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_breaking_news_strip_tops_the_home_page_in_the_accent_colour(live_server, browser, site):
    page = open_page(browser, live_server.url + "/", width=375)
    strip = page.locator(".breaking")

    assert strip.inner_text().startswith("BREAKING")
    assert strip.get_by_role("link").get_attribute("href") == site["article"]
    assert strip.bounding_box()["y"] < page.locator(".story-card--lead").bounding_box()["y"]
    assert strip.evaluate("element => getComputedStyle(element).backgroundColor") == (
        "rgb(164, 22, 26)"
    )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_arabic_story_and_its_cards_read_right_to_left_inside_the_sites_own_direction(
    live_server, browser, site
):
    page = open_page(browser, live_server.url + site["article-arabic"], width=375)
    story = page.locator("article.story")

    assert story.get_attribute("lang") == "ar"
    assert story.get_attribute("dir") == "rtl"
    assert page.locator("html").get_attribute("dir") == "ltr"
    # The headline's words start at the right edge, the site's navigation still at the left.
    words = page.get_by_role("heading", level=1).evaluate(TEXT_BOX)
    column = story.bounding_box()
    assert words["right"] == pytest.approx(column["x"] + column["width"], abs=2)
    assert words["left"] > column["x"] + 10
    assert page.locator(".sections a").first.bounding_box()["x"] < 40
    # The dateline is the site's words: in its language, isolated in the story's direction.
    assert page.locator(".byline-block time").get_attribute("lang") == "en-gb"

    for listing in ("home", "section", "author"):
        page.goto(live_server.url + site[listing])
        card = page.locator("article.story-card", has_text=ARABIC_HEADLINE)
        assert (card.get_attribute("lang"), card.get_attribute("dir")) == ("ar", "rtl"), listing


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_story_page_has_one_newsletter_call_to_action_and_the_byline_near_the_headline(
    live_server, browser, site
):
    page = open_page(browser, live_server.url + site["article"], width=1280)

    assert page.locator(".newsletter-cta").count() == 1
    headline = page.get_by_role("heading", level=1).bounding_box()
    byline = page.locator(".byline-block").bounding_box()
    photo = page.locator("figure.lead-photo").bounding_box()
    assert headline["y"] < byline["y"] < photo["y"]
    assert page.locator(".byline-roles").inner_text() == "Middle East correspondent"
    assert page.locator(".related .card-photo img").count() > 0


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_accent_colour_from_site_settings_colours_links_in_light_and_dark(
    live_server, browser, site
):
    site_settings = SiteSettings.objects.get()
    site_settings.accent_colour = "#0b6e4f"
    site_settings.save()
    label = ".story-header .section-label"

    light = open_page(browser, live_server.url + site["article"], width=1280)
    assert light.locator(label).evaluate("el => getComputedStyle(el).color") == "rgb(11, 110, 79)"

    dark = open_page(browser, live_server.url + site["article"], width=1280, color_scheme="dark")
    red, green, blue = (
        int(channel)
        for channel in dark.locator(label)
        .evaluate("el => getComputedStyle(el).color")
        .removeprefix("rgb(")
        .removesuffix(")")
        .split(", ")
    )
    assert contrast_ratio(f"#{red:02x}{green:02x}{blue:02x}", DARK_SURFACE) >= MINIMUM_CONTRAST
    assert dark.evaluate("getComputedStyle(document.documentElement).backgroundColor") == (
        "rgb(18, 18, 18)"
    )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_reduced_motion_turns_off_transitions(live_server, browser, site):
    moving = open_page(browser, live_server.url + "/", width=1280)
    still = open_page(browser, live_server.url + "/", width=1280, reduced_motion="reduce")
    duration = "el => getComputedStyle(el).transitionDuration"

    assert moving.locator(".card-photo img").first.evaluate(duration) != "0s"
    assert float(still.locator(".card-photo img").first.evaluate(duration).rstrip("s")) < 0.001


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_printed_story_is_the_story_alone(live_server, browser, site):
    page = open_page(browser, live_server.url + site["article"], width=1280)
    page.emulate_media(media="print")

    for hidden in (".section-nav", ".site-search", ".share", ".newsletter-cta", ".related"):
        assert not page.locator(hidden).first.is_visible(), hidden
    assert page.locator(".story-body").is_visible()
    assert page.locator("h1").evaluate("el => getComputedStyle(el).color") == "rgb(0, 0, 0)"


# The publication's identity from the site settings ------------------------------------


@pytest.mark.django_db
def test_masthead_shows_the_logo_in_place_of_the_name_in_type(client):
    site_settings = SiteSettings.objects.create(site_name="The Harbour Times")
    site_settings.logo.save("logo.png", ContentFile(image_bytes(width=600, height=120)))

    html = client.get("/").content.decode()

    masthead = html.split('<p class="site-name">', 1)[1].split("</p>", 1)[0]
    assert f'src="{site_settings.logo.url}" width="600" height="120"' in masthead
    assert 'alt="The Harbour Times"' in masthead


# The accent colour editors choose -----------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("colour", ["#a4161a", "#0B6E4F", "#000000"])
def test_accent_colour_dark_enough_to_read_is_accepted(colour):
    SiteSettings(accent_colour=colour).full_clean()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "colour, message",
    [
        ("#f5c518", "too light to read"),
        ("#ffffff", "too light to read"),
        ("red", "six hexadecimal digits"),
        ("#12345", "six hexadecimal digits"),
        ("#a4161a; color: red", "six hexadecimal digits"),
    ],
)
def test_accent_colour_that_cannot_be_read_is_refused_with_a_reason(colour, message):
    with pytest.raises(ValidationError) as refused:
        SiteSettings(accent_colour=colour).full_clean()

    assert message in " ".join(refused.value.message_dict["accent_colour"])


def test_accent_colour_saved_around_the_form_falls_back_to_the_default():
    assert SiteSettings(accent_colour="#a4161a; background: url(x)").accent == "#a4161a"
    assert SiteSettings(accent_colour="#FFFFFF").accent == "#a4161a"


@pytest.mark.parametrize("colour", ["#a4161a", "#1d4ed8", "#000000", "#0b6e4f", "#c2410c"])
def test_accent_is_lightened_to_read_on_the_dark_scheme(colour):
    on_dark = SiteSettings(accent_colour=colour).accent_on_dark

    assert contrast_ratio(on_dark, DARK_SURFACE) >= MINIMUM_CONTRAST
