"""What a browser sends to the story form of the admin, for tests that drive it over HTTP."""

from django.utils import timezone

ADD_URL = "/admin/articles/article/add/"


def change_url(article):
    return f"/admin/articles/article/{article.pk}/change/"


def form_data(article=None, *, button="_save", authors=(), **fields):
    """Return the POST body the article change form sends, as a browser would build it."""
    data = {
        "headline": "Storm closes the port",
        "slug": "",
        "dek": "",
        "body": "<p>The port stayed shut on Tuesday.</p>",
        "section": "",
        "byline": "",
        "lead_photo": "",
        "lead_photo_caption": "",
        "story_type": "news",
        "seo_title": "",
        "seo_description": "",
        "published_at_0": "",
        "published_at_1": "",
        "updated_at_0": "",
        "updated_at_1": "",
        "loaded_modified_at": "",
        "bylines-TOTAL_FORMS": str(len(authors)),
        "bylines-INITIAL_FORMS": "0",
        "bylines-MIN_NUM_FORMS": "0",
        "bylines-MAX_NUM_FORMS": "1000",
        "corrections-TOTAL_FORMS": "0",
        "corrections-INITIAL_FORMS": "0",
        "corrections-MIN_NUM_FORMS": "0",
        "corrections-MAX_NUM_FORMS": "1000",
        button: "1",
    }
    if article is not None:
        article.refresh_from_db()
        data.update(
            headline=article.headline,
            slug=article.slug,
            dek=article.dek,
            body=article.body,
            section=article.section_id or "",
            byline=article.byline,
            lead_photo=article.lead_photo_id or "",
            story_type=article.story_type,
            loaded_modified_at=article.modified_at.isoformat(),
            tags=[tag.pk for tag in article.tags.all()],
            lead_photo_caption=article.lead_photo_caption,
            seo_title=article.seo_title,
            seo_description=article.seo_description,
        )
        if article.published_at:
            local = timezone.localtime(article.published_at)
            data["published_at_0"] = local.strftime("%Y-%m-%d")
            data["published_at_1"] = local.strftime("%H:%M:%S")
        bylines = list(article.bylines.all())
        data["bylines-TOTAL_FORMS"] = data["bylines-INITIAL_FORMS"] = str(len(bylines))
        for index, byline in enumerate(bylines):
            data[f"bylines-{index}-id"] = byline.pk
            data[f"bylines-{index}-article"] = article.pk
            data[f"bylines-{index}-author"] = byline.author_id
            data[f"bylines-{index}-position"] = byline.position
    for index, author in enumerate(authors):
        data[f"bylines-{index}-author"] = author.pk
        data[f"bylines-{index}-position"] = index
    if isinstance(fields.get("section"), object) and hasattr(fields.get("section"), "pk"):
        fields["section"] = fields["section"].pk
    data.update(fields)
    return data


def messages_in(response):
    return [str(message) for message in response.context["messages"]] if response.context else []
