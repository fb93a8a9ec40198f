"""Working on a story together: who has it open, the soft lock one of them holds, unsaved work.

- **Presence.** Each open story form sends a heartbeat every ``EDITING_HEARTBEAT_SECONDS``
  (``editing_heartbeat``); whoever has been silent for ``EDITING_LOCK_SECONDS`` has left.
- **Soft lock.** The first person editing holds the story's lock. Anyone else may take it
  over: the holder learns it at their next heartbeat, keeps their unsaved text as their
  working copy and sees the form read-only. A lock lives only as long as its holder's
  heartbeats, so a closed tab or a lost connection never strands a story; the change form
  refuses a save from anyone but the holder while the lock is held.
- **Working copies.** Autosave keeps each person's unsaved form as one private working copy
  per story, replaced each time. It never touches the story, its revisions, its address
  or the front cache.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.http import QueryDict
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from reversion.models import Version

from accounts.names import display_name
from articles.html import sanitize_html
from articles.models import Article, EditingSession, PendingUpdate, WorkingCopy, presence_cutoff
from articles.revisions import RESTORED_FIELDS, Content
from articles.services import article_can_work_on

# Form fields a working copy never keeps: the CSRF token belongs to one page.
NOT_KEPT = {"csrfmiddlewaretoken"}
DRAFT_KEY_LENGTH = 32
# A visit silent this long is forgotten, with any note that someone took over from it.
OLD_VISIT = timedelta(days=1)


def local_time(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%H:%M")


@dataclass(frozen=True)
class Editor:
    """Someone with the story open: their name, since when, and whether they hold the lock."""

    name: str
    since: datetime
    holds_lock: bool

    def as_json(self):
        return {
            "name": self.name,
            "since": self.since.isoformat(),
            "since_display": local_time(self.since),
            "holds_lock": self.holds_lock,
        }


@dataclass(frozen=True)
class EditingState:
    """What one person's story form should show about the others and the lock."""

    holds_lock: bool
    holder: Editor | None  # whoever holds the lock, this person included
    others: list[Editor]
    taken_over_by: str | None  # who took the lock from this person, until they take it back
    taken_over_at: datetime | None
    modified_at: datetime
    modified_by: str | None

    def as_json(self):
        return {
            "holds_lock": self.holds_lock,
            "lock": self.holder
            and {
                "holder": self.holder.name,
                "since": self.holder.since.isoformat(),
                "since_display": local_time(self.holder.since),
            },
            "taken_over": self.taken_over_by
            and {
                "by": self.taken_over_by,
                "at": self.taken_over_at.isoformat(),
                "at_display": local_time(self.taken_over_at),
            },
            "editors": [editor.as_json() for editor in self.others],
            "modified_at": self.modified_at.isoformat(),
            "modified_at_display": local_time(self.modified_at),
            "modified_by": self.modified_by,
        }


def story_for_editing(article_id, *, user) -> Article:
    """Return the story ``article_id``, locked for this transaction, if ``user`` may view it.

    Raise ``Article.DoesNotExist`` for a story that is not there (deleted, or never was) and
    ``PermissionDenied`` for one this user may not open.
    """
    if not user.has_perm("articles.view_article"):
        raise PermissionDenied("You cannot open stories.")
    try:
        pk = int(article_id)
    except (TypeError, ValueError):
        raise Article.DoesNotExist from None
    return (
        Article.objects.select_for_update(of=("self",))
        .only("status", "created_by_id", "modified_at", "headline")
        .get(pk=pk)
    )


@transaction.atomic
def editing_heartbeat(
    *, article_id, user, editing: bool, take_over: bool = False, opening: bool = False
) -> EditingState:
    """Note that ``user`` has the story open; take, keep or take over its lock as asked.

    ``editing`` asks to hold the lock if nobody does (and to keep it); ``take_over`` takes
    it from whoever holds it. A page whose lock was taken over gets it back only by
    taking it over in turn, never by a heartbeat; ``opening`` the story afresh takes a
    free lock again. Runs a fixed number of queries.
    """
    article = story_for_editing(article_id, user=user)
    can_edit = article_can_work_on(user=user, article=article)
    if take_over and not can_edit:
        raise PermissionDenied("You cannot edit this story.")
    now = timezone.now()
    cutoff = presence_cutoff(now)
    sessions = list(
        EditingSession.objects.filter(article=article).select_related("user", "taken_over_by")
    )
    mine = next((session for session in sessions if session.user_id == user.pk), None)
    if mine is None:
        mine = EditingSession(article=article, user=user, opened_at=now)
        sessions.append(mine)
    elif mine.last_seen < cutoff:
        mine.opened_at = now  # back after being away: a new visit
    mine.last_seen = now
    holder = next(
        (session for session in sessions if session.holds_lock and session is not mine), None
    )
    wants_lock = can_edit and (
        take_over or (editing and (opening or mine.taken_over_by_id is None))
    )
    if wants_lock and not mine.holds_lock:
        if holder is None or holder.last_seen < cutoff or take_over:
            if holder is not None:
                # Told at their next heartbeat; their unsaved text stays their working copy.
                holder.holds_lock = False
                holder.locked_since = None
                holder.taken_over_by = user
                holder.taken_over_at = now
                holder.save(
                    update_fields=["holds_lock", "locked_since", "taken_over_by", "taken_over_at"]
                )
                holder = None
            mine.holds_lock = True
            mine.locked_since = now
    if mine.holds_lock:
        mine.taken_over_by = None
        mine.taken_over_at = None
    mine.save()
    if holder is not None and holder.last_seen < cutoff:
        holder = None
    lock_session = mine if mine.holds_lock else holder
    return EditingState(
        holds_lock=mine.holds_lock,
        holder=lock_session
        and Editor(display_name(lock_session.user), lock_session.locked_since, True),
        others=[
            Editor(display_name(session.user), session.opened_at, session.holds_lock)
            for session in sessions
            if session is not mine and session.last_seen >= cutoff
        ],
        taken_over_by=mine.taken_over_by and display_name(mine.taken_over_by),
        taken_over_at=mine.taken_over_at,
        modified_at=article.modified_at,
        modified_by=display_name(last_editor(article), nobody=None),
    )


def last_editor(article: Article):
    """Return who made the story's last change: its newest revision or its pending update."""
    latest = Version.objects.get_for_object(article).select_related("revision__user").first()
    pending = PendingUpdate.objects.filter(article=article).select_related("saved_by").first()
    if pending and (latest is None or pending.saved_at > latest.revision.date_created):
        return pending.saved_by  # the change was to the story's pending update
    return latest.revision.user if latest else None


@transaction.atomic
def lock_release(*, article_id, user, holder_only: bool = True) -> bool:
    """Free the story's lock; return whether there was one to free.

    With ``holder_only`` this person leaves the story (their page is being closed): their
    presence ends and their own lock, if they hold it, is freed. An editor may free
    anyone's lock: its holder is told at their next heartbeat, as after a take-over, and
    keeps their unsaved text.
    """
    article = story_for_editing(article_id, user=user)
    if holder_only:
        leaving = EditingSession.objects.filter(article=article, user=user)
        held = leaving.filter(holds_lock=True).exists()
        leaving.delete()
        return held
    held = EditingSession.objects.filter(article=article, holds_lock=True)
    if not user.has_perm("articles.publish_article"):
        return bool(held.filter(user=user).update(holds_lock=False, locked_since=None))
    now = timezone.now()
    mine = held.filter(user=user).update(holds_lock=False, locked_since=None)
    return bool(
        mine
        or held.update(holds_lock=False, locked_since=None, taken_over_by=user, taken_over_at=now)
    )


def forget_old_visits(article: Article) -> None:
    """Delete the records of people who left ``article`` long ago (closed without a goodbye)."""
    EditingSession.objects.filter(
        article=article, last_seen__lt=timezone.now() - OLD_VISIT
    ).delete()


def lock_holder(article: Article, *, now: datetime | None = None) -> EditingSession | None:
    """Return the live lock on ``article`` (its holder loaded), or None if nobody holds it."""
    now = now or timezone.now()
    return (
        EditingSession.objects.filter(
            article=article, holds_lock=True, last_seen__gte=presence_cutoff(now)
        )
        .select_related("user")
        .first()
    )


# Working copies ---------------------------------------------------------------------


class WorkingCopyRefused(Exception):
    """An autosave that cannot be kept; ``status`` is the HTTP status that says why."""

    def __init__(self, message: str, *, status: int):
        super().__init__(message)
        self.status = status


def is_draft_key(value: str) -> bool:
    """Return whether ``value`` is a key an add form was given (hex, of the right length)."""
    return len(value) == DRAFT_KEY_LENGTH and all(c in "0123456789abcdef" for c in value)


def form_pairs(data: QueryDict) -> list[list[str]]:
    """Return the fields of a submitted story form as [name, value] pairs, in order."""
    return [
        [name, value] for name, values in data.lists() if name not in NOT_KEPT for value in values
    ]


def form_size(data: QueryDict) -> int:
    """Return about how many bytes a working copy of ``data`` takes (a body sent unannounced)."""
    return sum(len(name) + len(value.encode()) for name, value in form_pairs(data))


def pairs_as_query_dict(pairs) -> QueryDict:
    data = QueryDict(mutable=True)
    for name, value in pairs:
        data.appendlist(str(name), str(value))
    return data


@transaction.atomic
def working_copy_save(
    *, user, data: QueryDict, article_id=None, draft_key: str = ""
) -> WorkingCopy:
    """Keep ``data``, the story form as ``user`` has it now, as their one working copy.

    ``article_id`` names the story being changed; a story not saved yet is known by the
    ``draft_key`` of its form. Raise ``WorkingCopyRefused`` (storing nothing) for a story
    that is gone, one this user may not edit, or a malformed key.
    """
    article = None
    if article_id is not None:
        try:
            article = story_for_editing(article_id, user=user)
        except Article.DoesNotExist:
            raise WorkingCopyRefused(
                "This story no longer exists, so its changes cannot be kept.", status=404
            ) from None
        except PermissionDenied as error:
            raise WorkingCopyRefused(str(error), status=403) from None
        if not article_can_work_on(user=user, article=article):
            raise WorkingCopyRefused("You cannot edit this story.", status=403)
        draft_key = ""
    else:
        if not user.has_perm("articles.add_article"):
            raise WorkingCopyRefused("You cannot write stories.", status=403)
        if not is_draft_key(draft_key):
            raise WorkingCopyRefused("This form has no valid draft key; reload it.", status=400)
    values = {
        "form_data": form_pairs(data),
        "headline": data.get("headline", "")[:255],
        "based_on": parse_datetime(data.get("loaded_modified_at", "") or "") if article else None,
        "saved_at": timezone.now(),
    }
    copies = WorkingCopy.objects.filter(user=user, article=article, draft_key=draft_key)
    for attempt in range(2):
        if copies.update(**values):
            return copies.get()
        try:
            with transaction.atomic():
                return WorkingCopy.objects.create(
                    user=user, article=article, draft_key=draft_key, **values
                )
        except IntegrityError:
            if attempt:
                raise
            # Two autosaves of one form crossed: the other made the row; replace it.
    raise AssertionError("unreachable")


def working_copy_data(copy: WorkingCopy) -> QueryDict:
    """Return the form fields ``copy`` kept, as the form would receive them."""
    return pairs_as_query_dict(copy.form_data)


def form_content(data: QueryDict) -> Content:
    """Return what a story form's fields hold, in the shape of a version's content."""

    def number(value):
        try:
            return int(value)
        except (TypeError, ValueError):
            return None

    fields = {name: data.get(name, "") for name in RESTORED_FIELDS}
    fields["body"] = sanitize_html(fields["body"])
    bylines = []
    total = number(data.get("bylines-TOTAL_FORMS")) or 0
    for index in range(min(total, 1000)):
        prefix = f"bylines-{index}-"
        author = number(data.get(prefix + "author"))
        if author is None or data.get(prefix + "DELETE"):
            continue
        bylines.append((number(data.get(prefix + "position")) or 0, index, author))
    return Content(
        fields=fields,
        lead_photo_id=number(data.get("lead_photo")),
        tag_ids=[pk for pk in map(number, data.getlist("tags")) if pk is not None],
        author_ids=[author for _, _, author in sorted(bylines)],
        # Only what the form showed as editable: read-only fields are not sent.
        attributes={
            name: value
            for name, present, value in [
                ("slug", "slug" in data, data.get("slug", "")),
                ("section_id", "section" in data, number(data.get("section"))),
                ("story_type", "story_type" in data, data.get("story_type", "")),
                # An unticked box is not sent: the published_at field tells the form was.
                ("featured", "published_at_0" in data, data.get("featured") == "on"),
            ]
            if present
        },
    )


def working_copies_for(user):
    """Return ``user``'s working copies, newest first, with their stories' headlines."""
    return (
        WorkingCopy.objects.filter(user=user)
        .select_related("article")
        .only("headline", "saved_at", "draft_key", "article__headline", "article__status")
    )
