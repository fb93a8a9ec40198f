"""Changes to the front page: the draft editors work on, publishing it, bringing one back."""

from django.db import transaction
from django.utils import timezone

from accounts.permissions import require_permission
from frontcache import invalidation
from frontcache import keys as surrogate_keys
from frontpage.models import LIVE_CACHE_KEY, FrontPage, FrontPageSection, FrontPageStory


def copy_arrangement(source: FrontPage | None, target: FrontPage) -> None:
    """Give the saved ``target`` what ``source`` arranges (nothing, if there is no source)."""
    target.top_stories.all().delete()
    target.section_order.all().delete()
    if source is None:
        return
    for name in ("lead_id", "breaking_text", "breaking_url", "breaking_expires_at"):
        setattr(target, name, getattr(source, name))
    target.save()
    FrontPageStory.objects.bulk_create(
        FrontPageStory(front_page=target, article_id=story.article_id, position=story.position)
        for story in source.top_stories.all()
    )
    FrontPageSection.objects.bulk_create(
        FrontPageSection(front_page=target, section_id=block.section_id, position=block.position)
        for block in source.section_order.all()
    )


@transaction.atomic
def front_page_draft(*, user) -> FrontPage:
    """Return the draft arrangement, starting one from the live arrangement if there is none."""
    require_permission(user, "frontpage.change_frontpage", "arrange the front page")
    draft = FrontPage.objects.select_for_update().filter(state=FrontPage.State.DRAFT).first()
    if draft is None:
        draft = FrontPage.objects.create(state=FrontPage.State.DRAFT, created_by=user)
        copy_arrangement(FrontPage.objects.published().first(), draft)
    return draft


@transaction.atomic
def front_page_publish(*, front_page: FrontPage, user) -> FrontPage:
    """Make the draft ``front_page`` the live arrangement; it stays as a revision after."""
    require_permission(user, "frontpage.publish_frontpage", "publish the front page")
    front_page = FrontPage.objects.select_for_update().get(pk=front_page.pk)
    if front_page.state != FrontPage.State.DRAFT:
        raise ValueError("Only the draft can be published; restore a revision into it first.")
    front_page.state = FrontPage.State.PUBLISHED
    front_page.published_at = timezone.now()
    front_page.published_by = user
    front_page.save()
    # The home page shows the arrangement: purge it, and forget the cached plan.
    invalidation.rows_changed(surrogate_keys.FRONT_PAGE, cache_keys=[LIVE_CACHE_KEY])
    return front_page


@transaction.atomic
def front_page_restore(*, revision: FrontPage, user) -> FrontPage:
    """Put the published ``revision``'s arrangement in the draft, to preview and publish again."""
    draft = front_page_draft(user=user)
    copy_arrangement(revision, draft)
    return draft
