"""The newsroom desk on the admin's front page: the stories each editor can act on next."""

from dataclasses import dataclass

from django.urls import reverse

from articles.editing import working_copies_for
from articles.models import Article

PANEL_SIZE = 8


@dataclass(frozen=True)
class DeskPanel:
    """One panel of the desk: a few stories, a link to all of them in the story list."""

    title: str
    stories: list
    link: str
    # Scheduled and published stories are listed by when they go live; the others by
    # when they were last edited.
    shows_publication_time: bool = False


def desk_panels(user) -> list[DeskPanel]:
    """Return the desk panels ``user`` can act on, each with its first few stories."""
    if not user.has_perm("articles.view_article"):
        return []
    stories = (
        Article.objects.select_related("section")
        .only("headline", "status", "published_at", "modified_at", "section__name", "created_by_id")
        .with_editing_marks()
    )
    changelist = reverse("admin:articles_article_changelist")
    panels = [
        (
            "My drafts",
            stories.filter(status=Article.Status.DRAFT, created_by=user).order_by("-modified_at"),
            f"{changelist}?state=draft&created_by__id__exact={user.pk}",
            False,
        ),
        (
            "Awaiting review",
            stories.filter(status=Article.Status.REVIEW).order_by("modified_at"),
            f"{changelist}?state=review",
            False,
        ),
        (
            "Pending updates",
            stories.filter(pending_update__isnull=False).order_by("pending_update__saved_at"),
            f"{changelist}?state=pending",
            False,
        ),
        (
            "Scheduled",
            stories.scheduled().order_by("published_at"),
            f"{changelist}?state=scheduled",
            True,
        ),
        (
            "Recently published",
            stories.published().order_by("-published_at"),
            f"{changelist}?state=live",
            True,
        ),
    ]
    return [
        DeskPanel(title, list(queryset[:PANEL_SIZE]), link, shows_publication_time)
        for title, queryset, link, shows_publication_time in panels
    ]


def unsaved_work(user):
    """Return this user's working copies: stories never saved first, then unsaved changes."""
    if not user.has_perm("articles.add_article"):
        return []
    copies = list(working_copies_for(user)[:PANEL_SIZE])
    return sorted(copies, key=lambda copy: copy.article_id is not None)
