"""The story form's side of working together: autosave, presence, locks and pending updates.

``StoryEditingAdminMixin`` gives ``ArticleAdmin`` the endpoints ``static/articles/editing.js``
calls (autosave, heartbeat, take over, release) and what the change form shows: who else
has the story open, the lock, the person's own unsaved changes to restore, and a published
story's pending update. The rules live in ``articles.editing`` and ``articles.services``.
"""

import secrets

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.forms.utils import ErrorDict
from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_POST

from articles import editing, revisions, services
from articles.models import Article, PendingUpdate, WorkingCopy

RESTORE_PARAMETER = "restore"


def json_error(message, *, status):
    return JsonResponse({"error": message}, status=status)


def wants_json(request):
    return "application/json" in request.headers.get("Accept", "")


class StoryEditingAdminMixin:
    """Autosave, presence, soft locks and pending updates for the story change form."""

    def get_urls(self):
        def view(function, route, name):
            return path(
                route, self.admin_site.admin_view(function), name=f"articles_article_{name}"
            )

        return [
            view(self.autosave_view, "autosave/", "autosave_new"),
            view(
                self.working_copy_discard_view,
                "working-copies/<int:pk>/discard/",
                "working_copy_discard",
            ),  # fmt: skip
            view(self.autosave_view, "<path:object_id>/autosave/", "autosave"),
            view(self.heartbeat_view, "<path:object_id>/heartbeat/", "heartbeat"),
            view(self.take_over_view, "<path:object_id>/lock/take/", "take_over"),
            view(self.release_view, "<path:object_id>/lock/release/", "release"),
            view(
                self.pending_update_discard_view,
                "<path:object_id>/pending-update/discard/",
                "pending_update_discard",
            ),  # fmt: skip
            *super().get_urls(),
        ]

    # Endpoints -----------------------------------------------------------------------

    @method_decorator(require_POST)
    def autosave_view(self, request, object_id=None):
        """Keep the form as sent as this person's working copy; never touch the story."""
        limit = settings.AUTOSAVE_MAX_BYTES
        sent = str_to_int(request.headers.get("Content-Length")) or 0
        # The announced length first: a body past the limit is refused before it is read.
        if sent > limit or editing.form_size(request.POST) > limit:
            return json_error(
                f"This story is too long to keep automatically (over "
                f"{limit // 1024} KB): save it to keep your changes.",
                status=413,
            )
        try:
            copy = editing.working_copy_save(
                user=request.user,
                data=request.POST,
                article_id=object_id,
                draft_key=request.POST.get("autosave_key", ""),
            )
        except editing.WorkingCopyRefused as refusal:
            return json_error(str(refusal), status=refusal.status)
        return JsonResponse(
            {
                "saved_at": copy.saved_at.isoformat(),
                "saved_at_display": editing.local_time(copy.saved_at),
                "working_copy": copy.pk,
            }
        )

    @method_decorator(require_POST)
    def working_copy_discard_view(self, request, pk):
        copy = get_object_or_404(WorkingCopy, pk=pk, user=request.user)
        copy.delete()
        if wants_json(request):
            return JsonResponse({"discarded": True})
        messages.success(request, "Your unsaved changes were discarded.")
        if copy.article_id is None:
            return HttpResponseRedirect(reverse("admin:index"))
        return HttpResponseRedirect(change_url(copy.article_id))

    def editing_response(self, request, object_id, *, editing_now, take_over=False):
        try:
            state = editing.editing_heartbeat(
                article_id=object_id, user=request.user, editing=editing_now, take_over=take_over
            )
        except Article.DoesNotExist:
            return json_error("This story no longer exists.", status=404)
        except PermissionDenied as error:
            return json_error(str(error) or "You cannot edit this story.", status=403)
        return JsonResponse(state.as_json())

    @method_decorator(require_POST)
    def heartbeat_view(self, request, object_id):
        """Note that this person has the story open, and tell them who else has."""
        return self.editing_response(
            request, object_id, editing_now=request.POST.get("editing") == "1"
        )

    @method_decorator(require_POST)
    def take_over_view(self, request, object_id):
        response = self.editing_response(request, object_id, editing_now=True, take_over=True)
        if wants_json(request) or response.status_code == 404:
            return response
        if response.status_code == 403:
            raise PermissionDenied
        messages.success(request, "You are editing this story now.")
        return HttpResponseRedirect(change_url(object_id))

    @method_decorator(require_POST)
    def release_view(self, request, object_id):
        holder_only = request.POST.get("holder_only") == "1"
        try:
            released = editing.lock_release(
                article_id=object_id, user=request.user, holder_only=holder_only
            )
        except Article.DoesNotExist:
            return json_error("This story no longer exists.", status=404)
        except PermissionDenied as error:
            return json_error(str(error), status=403)
        if holder_only or wants_json(request):
            return HttpResponse(status=204)
        if released:
            messages.success(request, "The lock is released: anyone may edit the story now.")
        # Not back to the story: opening it would take the lock just freed.
        return HttpResponseRedirect(reverse("admin:articles_article_changelist"))

    @method_decorator(require_POST)
    def pending_update_discard_view(self, request, object_id):
        article = self.get_object(request, object_id)
        if article is None:
            raise Http404("There is no such story.")
        services.article_discard_update(article=article, user=request.user)
        messages.success(request, "The pending update was discarded; the live story is unchanged.")
        return HttpResponseRedirect(change_url(article.pk))

    # The change form -------------------------------------------------------------------

    def restoring(self, request, obj):
        """Return this person's working copy of ``obj`` (None: a new story) to restore, or None.

        Only into the form it was typed in: another story's copy would overwrite this one.
        """
        if request.method != "GET" or RESTORE_PARAMETER not in request.GET:
            return None
        article = obj if obj is not None and obj.pk is not None else None
        cache = request.__dict__.setdefault("_story_working_copy", {})
        if "restore" not in cache:
            cache["restore"] = WorkingCopy.objects.filter(
                pk=str_to_int(request.GET[RESTORE_PARAMETER]), user=request.user, article=article
            ).first()
        return cache["restore"]

    def pending_update(self, request, obj):
        return pending_update_for(request, obj)

    def is_staging(self, request, obj):
        """Return whether a save of ``obj`` from this request goes to its pending update."""
        if obj is None or obj.pk is None or obj.status != Article.Status.PUBLISHED:
            return False
        return (
            "_stage" in request.POST
            or "_publish_update" in request.POST
            or self.pending_update(request, obj) is not None
            or not services.article_can_edit(user=request.user, article=obj)
        )

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        copy = self.restoring(request, obj)
        pending = self.pending_update(request, obj)
        attributes = {"editing_user": request.user}
        if copy is not None:
            attributes["restored_data"] = editing.working_copy_data(copy)
        elif pending is not None and request.method == "GET":
            attributes["pending_initial"] = pending_form_initial(pending)
        return type(form)(form.__name__, (RestorableFormMixin, form), attributes)

    def get_formset_kwargs(self, request, obj, inline, prefix):
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        pending = self.pending_update(request, obj)
        if pending is not None and prefix == "bylines":
            # The bylines of the update, not of the live story: all new rows, read on save.
            kwargs["queryset"] = inline.model.objects.none()
            if request.method != "POST":
                kwargs["initial"] = [
                    {"author": author_id, "position": position}
                    for position, author_id in enumerate(pending.content.get("author_ids", []))
                ]
        copy = self.restoring(request, obj)
        if copy is not None:
            kwargs["data"] = editing.working_copy_data(copy)
        return kwargs

    def editing_context(self, request, obj, *, add):
        """Return what the form shows about the others, the lock and this person's unsaved work."""
        user = request.user
        copy = self.restoring(request, obj)
        context = {
            "autosave_delay_ms": int(settings.AUTOSAVE_DELAY_SECONDS * 1000),
            "heartbeat_seconds": settings.EDITING_HEARTBEAT_SECONDS,
            "restored_copy": copy,
        }
        if add:
            # A form sent back with errors keeps its key, so its working copy stays one.
            sent_key = request.POST.get("autosave_key", "")
            context["autosave_key"] = (
                copy.draft_key
                if copy
                else sent_key
                if editing.is_draft_key(sent_key)
                else secrets.token_hex(editing.DRAFT_KEY_LENGTH // 2)
            )
            context["autosave_url"] = reverse("admin:articles_article_autosave_new")
            context["can_work_on"] = True
            context["unsaved_drafts"] = list(
                editing.working_copies_for(user).filter(article=None)[:10]
            )
            return context
        can_work_on = services.article_can_work_on(user=user, article=obj)
        editing.forget_old_visits(obj)
        state = editing.editing_heartbeat(
            article_id=obj.pk, user=user, editing=can_work_on, opening=True
        )
        urls = {
            name: reverse(f"admin:articles_article_{name}", args=[obj.pk])
            for name in ("autosave", "heartbeat", "take_over", "release")
        }
        pending = self.pending_update(request, obj)
        context.update(
            can_work_on=can_work_on,
            editing_state=state,
            editing_urls=urls,
            pending_update=pending,
        )
        # A form sent back with errors has put the refused values on ``obj``: read the row.
        live = revisions.current_content(Article.objects.get(pk=obj.pk))
        if pending is not None:
            context["pending_changes"] = changed_only(
                revisions.compare(live, revisions.stored_content(pending.content))
            )
        # Offered when the story is opened; a form sent back already holds the person's text.
        if copy is None and can_work_on and request.method == "GET":
            offered = WorkingCopy.objects.filter(user=user, article=obj).first()
            changes = []
            if offered is not None:
                base = revisions.stored_content(pending.content) if pending is not None else live
                changes = changed_only(
                    revisions.compare(
                        base, editing.form_content(editing.working_copy_data(offered))
                    )
                )
                if not changes:
                    offered.delete()  # nothing differs from the story: nothing to offer
                    offered = None
            context.update(working_copy=offered, working_copy_changes=changes)
        if copy is not None and copy.based_on and obj.modified_at > copy.based_on:
            context["restored_copy_outdated_by"] = obj.modified_at
        return context

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context.update(self.editing_context(request, obj, add=add))
        return super().render_change_form(request, context, add, change, form_url, obj)

    # Saving ----------------------------------------------------------------------------

    def after_explicit_save(self, request, article, *, leaving):
        """Drop this person's working copy, which a save supersedes; free their lock if done."""
        user = request.user
        WorkingCopy.objects.filter(user=user, article=article).delete()
        draft_key = request.POST.get("autosave_key", "")
        if draft_key:
            WorkingCopy.objects.filter(user=user, article=None, draft_key=draft_key).delete()
        if leaving:
            editing.lock_release(article_id=article.pk, user=user, holder_only=True)


def pending_update_for(request, obj) -> PendingUpdate | None:
    """Return the pending update the story form edits: a published story's, else None."""
    if obj is None or obj.pk is None or obj.status != Article.Status.PUBLISHED:
        return None
    cache = request.__dict__.setdefault("_story_pending_update", {})
    if obj.pk not in cache:
        cache[obj.pk] = PendingUpdate.objects.filter(article=obj).select_related("saved_by").first()
    return cache[obj.pk]


def pending_byline_rows(request, obj) -> int | None:
    """Return how many byline rows the form needs to show a pending update's bylines."""
    pending = pending_update_for(request, obj)
    if pending is None or request.method == "POST":
        return None
    return len(pending.content.get("author_ids", [])) + 1


class RestorableFormMixin:
    """Show a working copy in the form as typed (not checked until saved), or a pending update."""

    editing_user = None
    restored_data = None
    pending_initial = None

    def __init__(self, data=None, *args, **kwargs):
        if self.restored_data is not None and data is None:
            data = self.restored_data
            self.is_restored = True
        if self.pending_initial is not None and data is None:
            kwargs["initial"] = {**self.pending_initial, **(kwargs.get("initial") or {})}
        super().__init__(data, *args, **kwargs)

    def full_clean(self):
        if getattr(self, "is_restored", False):
            # Restored unsaved work may be half-written: it is checked when it is saved.
            self._errors = ErrorDict()
            self.cleaned_data = {}
            return
        super().full_clean()


def pending_form_initial(pending: PendingUpdate) -> dict:
    """Return the change form's initial values for the story as ``pending`` updates it."""
    content = revisions.stored_content(pending.content)
    initial = dict(content.fields)
    attributes = content.attributes
    initial.update(
        substantive_update=pending.substantive,
        lead_photo=content.lead_photo_id,
        tags=content.tag_ids,
        **{
            name: attributes[name]
            for name in ("slug", "story_type", "language", "featured")
            if name in attributes
        },
    )
    if "section_id" in attributes:
        initial["section"] = attributes["section_id"]
    return initial


def changed_only(changes):
    return [change for change in changes if change.changed]


def change_url(article_id):
    return reverse("admin:articles_article_change", args=[article_id])


def str_to_int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
