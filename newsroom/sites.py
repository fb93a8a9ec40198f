from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

PANEL_SIZE = 8


class NewsroomAdminSite(admin.AdminSite):
    site_header = "Newsroom"
    site_title = "Newsroom admin"
    index_title = "Newsroom"
    index_template = "admin/newsroom_index.html"

    def index(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "desk_panels": desk_panels(request.user)}
        return super().index(request, extra_context)


def desk_panels(user):
    """Return the dashboard panels this user can act on: (title, stories, link to all)."""
    from articles.models import Article

    if not user.has_perm("articles.view_article"):
        return []
    stories = Article.objects.select_related("section").only(
        "headline", "status", "published_at", "modified_at", "section__name", "created_by_id"
    )
    changelist = reverse("admin:articles_article_changelist")
    now = timezone.now()
    published = Article.Status.PUBLISHED
    panels = [
        (
            "My drafts",
            stories.filter(status=Article.Status.DRAFT, created_by=user).order_by("-modified_at"),
            f"{changelist}?state=draft&created_by__id__exact={user.pk}",
        ),
        (
            "Awaiting review",
            stories.filter(status=Article.Status.REVIEW).order_by("modified_at"),
            f"{changelist}?state=review",
        ),
        (
            "Scheduled",
            stories.filter(status=published, published_at__gt=now).order_by("published_at"),
            f"{changelist}?state=scheduled",
        ),
        (
            "Recently published",
            stories.filter(status=published, published_at__lte=now).order_by("-published_at"),
            f"{changelist}?state=live",
        ),
    ]
    return [(title, list(queryset[:PANEL_SIZE]), link) for title, queryset, link in panels]
