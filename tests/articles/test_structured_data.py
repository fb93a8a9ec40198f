import io
import json
import re
from datetime import UTC, datetime

import pytest
from django.core.files.base import ContentFile
from django.template.loader import render_to_string
from PIL import Image

from articles.models import Article
from articles.structured_data import article_json_ld
from publication.models import SiteSettings
from tests.factories import (
    ArticleFactory,
    AuthorFactory,
    CorrectionFactory,
    PhotoFactory,
    SectionFactory,
    TagFactory,
    UserFactory,
    image_bytes,
)

pytestmark = pytest.mark.django_db

SITE_URL = "https://news.example.org"
JSON_LD = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.S)


def loaded(story):
    """Return ``story`` as the article page loads it."""
    return Article.objects.for_detail().get(pk=story.pk)


def meta_tags(html):
    """Return {property or name: [content, …]} for the page's meta tags."""
    tags = {}
    for key, content in re.findall(r'<meta (?:property|name)="([^"]+)" content="([^"]*)">', html):
        tags.setdefault(key, []).append(content)
    return tags


@pytest.fixture
def story():
    photo = PhotoFactory(caption="Library caption", credit="AFP/File")
    story = ArticleFactory(
        headline="Aleppo residents tweet harrowing goodbyes",
        dek="Residents sent out desperate messages.",
        section=SectionFactory(name="The Loop", slug="loop"),
        authors=[AuthorFactory(name="Zeina Haddad", slug="zeina", role="Correspondent")],
        byline="AFP",
        tags=[TagFactory(name="Syria"), TagFactory(name="Aleppo")],
        lead_photo=photo,
        lead_photo_caption="Pro-government forces in Aleppo.",
        published_at=datetime(2016, 12, 13, 12, 12, 30, 123456, tzinfo=UTC),
    )
    CorrectionFactory(
        article=story,
        text="An earlier version misnamed the district.",
        published_at=datetime(2016, 12, 14, 9, 0, tzinfo=UTC),
    )
    return story


def test_json_ld_describes_the_story_for_search_engines(story):
    site_settings = SiteSettings.load()

    data = article_json_ld(loaded(story), site_url=SITE_URL, site_settings=site_settings)

    url = f"{SITE_URL}/2016/12/13/aleppo-residents-tweet-harrowing-goodbyes/"
    photo = story.lead_photo
    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "NewsArticle"
    assert data["mainEntityOfPage"] == {"@type": "WebPage", "@id": url}
    assert data["headline"] == "Aleppo residents tweet harrowing goodbyes"
    assert data["description"] == "Residents sent out desperate messages."
    assert data["inLanguage"] == "en-gb"
    assert data["datePublished"] == "2016-12-13T12:12:30+00:00"
    assert data["dateModified"] == "2016-12-14T09:00:00+00:00"
    assert data["author"] == [
        {
            "@type": "Person",
            "name": "Zeina Haddad",
            "url": f"{SITE_URL}/author/zeina/",
            "jobTitle": "Correspondent",
        },
        {"@type": "Organization", "name": "AFP"},
    ]
    assert data["image"] == {
        "@type": "ImageObject",
        "url": f"{SITE_URL}{photo.image.url}",
        "width": 640,
        "height": 360,
        "caption": "Pro-government forces in Aleppo.",
        "creditText": "AFP/File",
    }
    assert data["publisher"] == {
        "@type": "Organization",
        "name": "Newsroom",
        "url": f"{SITE_URL}/",
        "logo": {
            "@type": "ImageObject",
            "url": f"{SITE_URL}/brand/logo.png",
            "width": data["publisher"]["logo"]["width"],
            "height": 60,
        },
    }
    assert data["articleSection"] == "The Loop"
    assert data["keywords"] == ["Aleppo", "Syria"]
    assert data["correction"] == [
        {
            "@type": "CorrectionComment",
            "name": "Correction",
            "text": "An earlier version misnamed the district.",
            "datePublished": "2016-12-14T09:00:00+00:00",
        }
    ]


def test_publisher_carries_the_logo_and_social_pages_when_set():
    site_settings = SiteSettings(site_name="Beirut Daily", twitter_url="https://x.com/beirut")
    site_settings.publisher_logo.save("logo.png", ContentFile(image_bytes(format="PNG")))

    data = article_json_ld(loaded(ArticleFactory()), site_url=SITE_URL, site_settings=site_settings)

    assert data["publisher"]["name"] == "Beirut Daily"
    assert data["publisher"]["logo"] == {
        "@type": "ImageObject",
        "url": f"{SITE_URL}{site_settings.publisher_logo.url}",
    }
    assert data["publisher"]["sameAs"] == ["https://x.com/beirut"]


@pytest.mark.parametrize(
    ("published_at", "offset"),
    [
        (datetime(2024, 1, 15, 10, 0, tzinfo=UTC), "2024-01-15T12:00:00+02:00"),
        (datetime(2024, 7, 15, 10, 0, tzinfo=UTC), "2024-07-15T13:00:00+03:00"),
    ],
    ids=["winter", "summer"],
)
def test_json_ld_dates_carry_the_utc_offset_of_the_site_zone(settings, published_at, offset):
    settings.TIME_ZONE = "Asia/Beirut"
    story = ArticleFactory(published_at=published_at)

    data = article_json_ld(loaded(story), site_url=SITE_URL, site_settings=SiteSettings.load())

    assert data["datePublished"] == offset
    assert data["dateModified"] == offset


def test_story_without_photo_tags_or_bylines_leaves_those_fields_out():
    story = ArticleFactory(section=None)

    data = article_json_ld(loaded(story), site_url=SITE_URL, site_settings=SiteSettings.load())

    assert not {"author", "articleSection", "keywords", "correction"} & data.keys()


def test_story_without_photo_is_shared_with_the_default_image():
    data = article_json_ld(
        loaded(ArticleFactory()), site_url=SITE_URL, site_settings=SiteSettings.load()
    )

    assert data["image"] == {
        "@type": "ImageObject",
        "url": f"{SITE_URL}/brand/share.png",
        "width": 1200,
        "height": 675,
    }


def test_story_in_another_language_says_so():
    story = ArticleFactory(language="ar", headline="سكان حلب يودعون مدينتهم")

    data = article_json_ld(loaded(story), site_url=SITE_URL, site_settings=SiteSettings.load())

    assert data["inLanguage"] == "ar"


def page_json_ld(client, story):
    html = client.get(story.get_absolute_url()).content.decode()
    (script,) = JSON_LD.findall(html)
    return json.loads(script)


def test_fresh_install_has_every_property_google_asks_of_a_news_article(client):
    """Google's NewsArticle data: headline, image, both dates, authors with name and url,
    the publisher's name and logo — with nothing configured and no photo uploaded."""
    story = ArticleFactory(authors=[AuthorFactory(name="Zeina Haddad")])

    data = page_json_ld(client, story)

    assert data["@type"] == "NewsArticle"
    assert data["headline"] and len(data["headline"]) <= 110
    assert data["datePublished"] and data["dateModified"]
    assert [(author["name"], bool(author["url"])) for author in data["author"]] == [
        ("Zeina Haddad", True)
    ]
    assert data["publisher"]["name"] == "Newsroom"
    for image in (data["image"], data["publisher"]["logo"]):
        response = client.get(image["url"])
        assert response.status_code == 200
        assert response["Content-Type"] == "image/png"
        assert Image.open(io.BytesIO(response.content)).size == (image["width"], image["height"])
    assert data["image"]["width"] >= 1200
    logo = data["publisher"]["logo"]
    assert logo["height"] == 60 and logo["width"] <= 600


@pytest.fixture
def rename_site(django_capture_on_commit_callbacks):
    """Return a function that renames the site as the admin does, purging what shows the name."""
    with django_capture_on_commit_callbacks(execute=True):
        SiteSettings.load()

    def rename(name):
        site_settings = SiteSettings.load()
        site_settings.site_name = name
        with django_capture_on_commit_callbacks(execute=True):
            site_settings.save()

    return rename


def test_default_logo_fits_google_news_box_even_for_a_long_name(client, rename_site):
    rename_site("The Beirut Daily Star and Evening Chronicle of the Levant")

    logo = page_json_ld(client, ArticleFactory())["publisher"]["logo"]

    image = Image.open(io.BytesIO(client.get(logo["url"]).content))
    assert image.size == (logo["width"], logo["height"]) == (600, 60)


def test_default_images_follow_the_site_name(client, rename_site):
    before = client.get("/brand/logo.png").content
    rename_site("Beirut Daily")

    after = client.get("/brand/logo.png").content

    assert after != before
    assert Image.open(io.BytesIO(after)).size[1] == 60


@pytest.mark.parametrize("path", ["/brand/logo.png", "/brand/share.png"])
def test_default_images_are_kept_by_the_front_until_the_site_settings_change(client, path):
    response = client.get(path)

    assert response.status_code == 200
    assert response["Cache-Control"].startswith("public")
    assert response["xkey"] == "site"


def test_article_page_has_json_ld_open_graph_and_twitter_card(client, story):
    response = client.get(story.get_absolute_url())

    html = response.content.decode()
    (script,) = JSON_LD.findall(html)
    data = json.loads(script)
    site_url = response.context["site_url"]
    url = f"{site_url}{story.get_absolute_url()}"
    assert data["headline"] == story.headline
    assert data["mainEntityOfPage"]["@id"] == url
    assert html.count('<link rel="canonical"') == 1
    assert f'<link rel="canonical" href="{url}">' in html
    meta = meta_tags(html)
    assert meta["og:type"] == ["article"]
    assert meta["og:title"] == [story.headline]
    assert meta["og:description"] == ["Residents sent out desperate messages."]
    assert meta["og:url"] == [url]
    assert meta["og:site_name"] == ["Newsroom"]
    assert meta["og:image"] == [f"{site_url}{story.lead_photo.image.url}"]
    assert (meta["og:image:width"], meta["og:image:height"]) == (["640"], ["360"])
    assert meta["article:published_time"] == ["2016-12-13T12:12:30+00:00"]
    assert meta["article:modified_time"] == ["2016-12-14T09:00:00+00:00"]
    assert meta["article:section"] == ["The Loop"]
    assert meta["article:tag"] == ["Aleppo", "Syria"]
    assert meta["article:author"] == [f"{site_url}/author/zeina/"]
    assert meta["twitter:card"] == ["summary_large_image"]


def test_shared_image_is_a_large_copy_of_the_photo_once_it_is_drawn(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        photo = PhotoFactory(
            image=ContentFile(image_bytes(width=3000, height=1500), name="large.jpg")
        )
    story = ArticleFactory(lead_photo=photo)

    html = client.get(story.get_absolute_url()).content.decode()

    meta = meta_tags(html)
    (image_url,) = meta["og:image"]
    assert image_url.endswith("/w1920.jpeg")
    assert (meta["og:image:width"], meta["og:image:height"]) == (["1920"], ["960"])
    image = json.loads(JSON_LD.search(html).group(1))["image"]
    assert (image["url"], image["width"], image["height"]) == (image_url, 1920, 960)


def test_page_of_story_without_photo_shares_the_default_image(client):
    response = client.get(ArticleFactory().get_absolute_url())

    meta = meta_tags(response.content.decode())
    site_url = response.context["site_url"]
    assert meta["og:image"] == [f"{site_url}/brand/share.png"]
    assert (meta["og:image:width"], meta["og:image:height"]) == (["1200"], ["675"])
    assert meta["twitter:card"] == ["summary_large_image"]


def test_headline_cannot_break_out_of_the_json_ld_script(client):
    headline = "</script><script>alert(1)</script> & <!-- more"
    story = ArticleFactory(headline=headline)

    html = client.get(story.get_absolute_url()).content.decode()

    (script,) = JSON_LD.findall(html)
    assert "<" not in script and ">" not in script and "&" not in script
    assert "\\u003c/script\\u003e" in script
    assert json.loads(script)["headline"] == headline
    assert "<script>alert(1)" not in html


@pytest.mark.parametrize("status", [Article.Status.DRAFT, Article.Status.PUBLISHED])
def test_preview_has_no_json_ld_and_is_not_indexed(client, status):
    story = ArticleFactory(status=status)
    client.force_login(UserFactory(role="Editor"))

    response = client.get(f"/preview/{story.pk}/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "application/ld+json" not in html
    assert '<meta name="robots" content="noindex, nofollow">' in html


def test_unpublished_story_gets_no_json_ld_even_outside_a_preview(story):
    story.status = Article.Status.WITHDRAWN
    story.save()

    html = render_to_string(
        "includes/article_meta.html",
        {"article": loaded(story), "site_url": SITE_URL, "site_settings": SiteSettings.load()},
    )

    assert "application/ld+json" not in html


def test_meta_partial_costs_no_query_beyond_for_detail(story, django_assert_num_queries):
    """Guard against the meta tags or JSON-LD reading bylines, tags or corrections per call."""
    article, site_settings = loaded(story), SiteSettings.load()

    with django_assert_num_queries(0):
        html = render_to_string(
            "includes/article_meta.html",
            {"article": article, "site_url": SITE_URL, "site_settings": site_settings},
        )

    assert "application/ld+json" in html and "article:tag" in html
