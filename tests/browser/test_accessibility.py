"""axe-core in Chromium on the pages readers use most: no serious or critical violations."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.management import call_command

from articles.models import Article, Section
from newsroom.models import SiteSettings
from tests.factories import SEED, ArticleFactory, AuthorFactory, CorrectionFactory, image_bytes

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def site(tmp_path):
    SiteSettings.objects.create(
        twitter_url="https://twitter.com/example", facebook_url="https://facebook.com/example"
    )
    photo = tmp_path / "lead.jpg"
    photo.write_bytes(image_bytes(width=1200, height=675))
    call_command("import_article", str(SEED), "--publish", "--photo", str(photo))
    seed = Article.objects.get()
    author = AuthorFactory(name="Zeina Haddad", bio="Covers Syria.")
    for number in range(6):
        ArticleFactory(
            section=seed.section, authors=[author], headline=f"Aleppo follow-up number {number}"
        )
    CorrectionFactory(article=seed)
    return seed


def serious_violations(page):
    results = Axe().run(page)
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} — "
        + "; ".join(node["target"][0] for node in violation["nodes"][:3])
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize(
    "path",
    ["home", "article", "section", "search", "corrections"],
)
def test_page_has_no_serious_accessibility_violations(live_server, page, site, path):
    urls = {
        "home": "/",
        "article": site.get_absolute_url(),
        "section": Section.objects.get().get_absolute_url(),
        "search": "/search/?q=Aleppo",
        "corrections": "/corrections/",
    }
    page.goto(live_server.url + urls[path])

    assert serious_violations(page) == []


def test_keyboard_user_can_skip_to_the_story(live_server, page, site):
    page.goto(live_server.url + site.get_absolute_url())

    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")

    assert page.evaluate("document.activeElement.id") == "main"
