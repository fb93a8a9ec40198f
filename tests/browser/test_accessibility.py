"""axe-core in Chromium on every public page type: no violation of any impact.

Each page is checked in the light and the dark colour scheme, since the stylesheet
changes its colours (and so their contrast) with ``prefers-color-scheme``.
"""

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.management import call_command
from django.utils import timezone

from articles.models import Article, Section
from articles.services import article_withdraw
from frontpage.models import FrontPage
from publication.models import SiteSettings
from tests.factories import (
    SEED,
    ArticleFactory,
    AuthorFactory,
    CorrectionFactory,
    UserFactory,
    image_bytes,
    photo_with_renditions,
)

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PAGE_TYPES = [
    "home",
    "article",
    "article-arabic",
    "section",
    "tag",
    "author",
    "search",
    "corrections",
    "newsletter-signup",
    "not-found",
    "withdrawn",
]


@pytest.fixture
def site(tmp_path):
    """Return {page type: path} over a site with every part of every page filled in."""
    SiteSettings.objects.create(
        twitter_url="https://twitter.com/example", facebook_url="https://facebook.com/example"
    )
    photo = tmp_path / "lead.jpg"
    photo.write_bytes(image_bytes(width=1200, height=675))
    call_command("import_article", str(SEED), "--publish", "--photo", str(photo))
    seed = Article.objects.get()
    author = AuthorFactory(
        name="Zeina Haddad",
        role="Correspondent",
        bio="Covers Syria.",
        photo=photo_with_renditions(),
    )
    tag = seed.tags.first() or seed.tags.create(name="Syria", slug="syria")
    for number in range(6):
        ArticleFactory(
            section=seed.section,
            authors=[author],
            tags=[tag],
            headline=f"Aleppo follow-up number {number}",
            lead_photo=photo_with_renditions() if number % 2 else None,
        )
    seed.bylines.create(author=author, position=1)
    CorrectionFactory(article=seed)
    arabic = ArticleFactory(
        language="ar",
        section=seed.section,
        authors=[author],
        headline="سكان حلب يودعون مدينتهم",
        dek="رسائل يائسة من الأحياء الشرقية.",
        body="<p>الفقرة الأولى من القصة.</p><p>الفقرة الثانية.</p>",
    )
    FrontPage.objects.create(
        state=FrontPage.State.PUBLISHED,
        published_at=timezone.now(),
        lead=seed,
        breaking_text="Ceasefire agreed in Aleppo",
        breaking_url=seed.get_absolute_url(),
    )
    withdrawn = ArticleFactory(section=seed.section, headline="A story taken down")
    article_withdraw(article=withdrawn, user=UserFactory(role="Editor"))
    return {
        "home": "/",
        "article": seed.get_absolute_url(),
        "article-arabic": arabic.get_absolute_url(),
        "section": Section.objects.get().get_absolute_url(),
        "tag": tag.get_absolute_url(),
        "author": author.get_absolute_url(),
        "search": "/search/?q=Aleppo",
        "corrections": "/corrections/",
        "newsletter-signup": "/newsletter/",
        "not-found": "/no-such-page/",
        "withdrawn": withdrawn.get_absolute_url(),
    }


def violations(page):
    """Return one line per axe violation on ``page``: rule, impact, help, first elements."""
    results = Axe().run(page)
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} — "
        + "; ".join(str(node["target"][0]) for node in violation["nodes"][:3])
        for violation in results.response["violations"]
    ]


@pytest.mark.parametrize("page_type", PAGE_TYPES)
def test_page_has_no_accessibility_violations(live_server, page, site, page_type):
    found = {}
    for color_scheme in ("light", "dark"):
        page.emulate_media(color_scheme=color_scheme)
        page.goto(live_server.url + site[page_type])
        found[color_scheme] = violations(page)

    assert found == {"light": [], "dark": []}


def test_keyboard_user_can_skip_to_the_story(live_server, page, site):
    page.goto(live_server.url + site["article"])

    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")

    assert page.evaluate("document.activeElement.id") == "main"
