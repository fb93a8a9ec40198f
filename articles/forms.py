from django import forms
from django.utils import timezone
from django_ckeditor_5.widgets import CKEditor5Widget

from accounts.names import display_name
from articles.editing import last_editor, lock_holder
from articles.html import body_for_editor, sanitize_html
from articles.models import Article


class StoryBodyField(forms.CharField):
    """The story body, changed only when its sanitised HTML is.

    CKEditor writes the same story back in its own markup (embeds as ``<oembed>``), so
    comparing raw text would log "Changed Body" on every save.
    """

    def has_changed(self, initial, data):
        return " ".join(sanitize_html(initial or "").split()) != " ".join(
            sanitize_html(data or "").split()
        )


class ArticleAdminForm(forms.ModelForm):
    """The story form, with a guard against two people overwriting each other's work.

    ``loaded_modified_at`` carries the story's last-change time from when the form was
    opened; a save is refused when the story has changed since, naming who changed it.
    """

    loaded_modified_at = forms.CharField(widget=forms.HiddenInput, required=False)
    substantive_update = forms.BooleanField(
        required=False,
        label="Substantive update",
        help_text='Tell readers the story was updated ("Updated …" with the time of this '
        "save, or of publishing the pending update).",
    )
    # The person saving, set by the admin: a save is refused while someone else holds the lock.
    editing_user = None

    class Meta:
        model = Article
        fields = [
            "headline", "slug", "dek", "body", "lead_photo", "lead_photo_caption", "section",
            "tags", "story_type", "language", "byline", "featured", "published_at", "updated_at",
            "seo_title", "seo_description",
        ]  # fmt: skip
        field_classes = {"body": StoryBodyField}
        widgets = {
            "body": CKEditor5Widget(config_name="default"),
            "dek": forms.Textarea(attrs={"rows": 2}),
            "lead_photo_caption": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["loaded_modified_at"].initial = self.instance.modified_at.isoformat()
        if self.initial.get("body"):
            # Stored embeds are plain figures; CKEditor only recognises its own markup.
            self.initial["body"] = body_for_editor(self.initial["body"])
        if "body" in self.fields:
            # CKEditor hides the textarea; an empty required field would block the submit
            # in the browser with no visible message. The publish checklist asks for a body.
            self.fields["body"].required = False

    def clean(self):
        cleaned_data = super().clean()
        if self.instance.pk:
            self.check_lock()
            self.check_for_conflict()
        return cleaned_data

    def check_lock(self):
        if self.editing_user is None:
            return
        holder = lock_holder(self.instance)
        if holder is None or holder.user_id == self.editing_user.pk:
            return
        who = display_name(holder.user)
        since = timezone.localtime(holder.locked_since).strftime("%H:%M")
        raise forms.ValidationError(
            f"{who} is editing this story (since {since}). Your changes have NOT been saved and "
            f"are still in this form. Take over editing to save them: {who} keeps their own "
            "unsaved text.",
            code="locked",
        )

    def check_for_conflict(self):
        current = (
            Article.objects.select_for_update()
            .filter(pk=self.instance.pk)
            .values_list("modified_at", flat=True)
            .first()
        )
        loaded = self.data.get(self.add_prefix("loaded_modified_at"), "")
        if current is None or current.isoformat() == loaded:
            return
        who = display_name(last_editor(self.instance), nobody="Someone")
        when = timezone.localtime(current).strftime("%H:%M:%S on %d %B %Y")
        # Let a deliberate second save go through: their version stays in the history.
        self.data = self.data.copy()
        self.data[self.add_prefix("loaded_modified_at")] = current.isoformat()
        raise forms.ValidationError(
            f"{who} changed this story at {when}, after you opened it. Your changes have NOT "
            "been saved and are still in this form. Compare with their version (History, in "
            "another tab), then save again to replace it; their version stays in the history.",
            code="conflict",
        )
