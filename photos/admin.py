from django import forms
from django.contrib import admin, messages
from django.db.models import Q, Value
from django.db.models.functions import Concat, Substr
from django.template.defaultfilters import filesizeformat
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.text import capfirst

from photos import renditions
from photos.forms import PhotoFileField
from photos.models import Photo, in_use_message, photo_uses
from photos.tasks import photo_generate_renditions
from photos.templatetags.photos import thumbnail_html

LIST_THUMBNAIL_WIDTH = 80
PREVIEW_WIDTH = 640
AWAITING_FILE_LABEL = "Awaiting image file"


class PhotoAdminForm(forms.ModelForm):
    image = PhotoFileField(
        label="Image file",
        help_text=Photo._meta.get_field("image").help_text,
    )

    class Meta:
        model = Photo
        fields = [
            "image", "title", "caption", "credit", "alt_text", "is_decorative",
            "focal_point_x", "focal_point_y",
        ]  # fmt: skip
        widgets = {
            "caption": forms.Textarea(attrs={"rows": 3}),
            "alt_text": forms.Textarea(attrs={"rows": 2}),
            "focal_point_x": forms.NumberInput(attrs={"step": "0.001", "min": 0, "max": 1}),
            "focal_point_y": forms.NumberInput(attrs={"step": "0.001", "min": 0, "max": 1}),
        }
        help_texts = {
            "alt_text": (
                "What a reader who cannot see the photo needs to know, in a sentence or two. "
                "Not the caption again. Needed before a story using it is published, unless "
                "the photo is marked decorative."
            ),
            "focal_point_x": "From 0 (left edge) to 1 (right edge). Empty means the centre.",
            "focal_point_y": "From 0 (top edge) to 1 (bottom edge). Empty means the centre.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A photo recorded before its file arrived can be kept so until the file is here;
        # one with a file keeps it (a required field offers no "clear" box).
        if self.instance.pk and not self.instance.image:
            self.fields["image"].required = False

    def clean(self):
        cleaned_data = super().clean()
        x, y = cleaned_data.get("focal_point_x"), cleaned_data.get("focal_point_y")
        if (x is None) != (y is None) and not self.has_error("focal_point_x"):
            raise forms.ValidationError(
                "Give both focal point numbers, or leave both empty for the centre."
            )
        return cleaned_data


class AttentionFilter(admin.SimpleListFilter):
    title = "needs attention"
    parameter_name = "needs"

    def lookups(self, request, model_admin):
        return [("credit", "Missing credit"), ("alt", "Missing alt text")]

    def queryset(self, request, queryset):
        if self.value() == "credit":
            return queryset.missing_for_publishing("credit")
        if self.value() == "alt":
            return queryset.missing_for_publishing("alt_text")
        return queryset


class ImageFileFilter(admin.SimpleListFilter):
    title = "image file"
    parameter_name = "file"

    def lookups(self, request, model_admin):
        return [("awaiting", AWAITING_FILE_LABEL)]

    def queryset(self, request, queryset):
        if self.value() == "awaiting":
            return queryset.awaiting_file()
        return queryset


class RenditionsFilter(admin.SimpleListFilter):
    title = "resized copies"
    parameter_name = "renditions"

    def lookups(self, request, model_admin):
        return [
            ("ready", "Ready"),
            ("waiting", "Waiting for the worker"),
            ("animated", "Animated (served as uploaded)"),
        ]

    def queryset(self, request, queryset):
        current = Q(
            renditions_key__startswith=Concat(
                Value(f"v{renditions.RENDITIONS_VERSION}:"), Substr("file_hash", 1, 16)
            )
        )
        if self.value() == "ready":
            return queryset.filter(current, is_animated=False)
        if self.value() == "waiting":
            return queryset.filter(is_animated=False).exclude(current).exclude(image="")
        if self.value() == "animated":
            return queryset.filter(is_animated=True)
        return queryset


@admin.register(Photo)
class PhotoAdmin(admin.ModelAdmin):
    form = PhotoAdminForm
    list_display = ["thumbnail", "label", "credit", "dimensions", "uploaded_by", "created_at",
                    "is_decorative"]  # fmt: skip
    list_display_links = ["thumbnail", "label"]
    list_select_related = ["uploaded_by"]
    list_filter = [
        "created_at",
        ("uploaded_by", admin.RelatedOnlyFieldListFilter),
        AttentionFilter,
        ImageFileFilter,
        RenditionsFilter,
        "is_decorative",
    ]
    search_fields = ["title", "caption", "credit", "alt_text"]
    search_help_text = "Search captions, credits, titles and alt text."
    date_hierarchy = "created_at"
    list_per_page = 48
    actions = ["redraw_renditions"]
    readonly_fields = ["preview", "dimensions", "file_size_display", "file_hash", "uploaded_by",
                       "created_at", "renditions_status"]  # fmt: skip

    class Media:
        css = {"all": ["photos/admin.css"]}
        js = ["photos/focal-point.js"]

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [
                (None, {"fields": ["image"]}),
                (
                    "Caption and credit",
                    {
                        "fields": ["caption", "credit", "title"],
                        "description": (
                            "Leave these empty to use what the photographer or agency wrote "
                            "into the file, if anything."
                        ),
                    },
                ),
                ("For readers who cannot see it", {"fields": ["alt_text", "is_decorative"]}),
            ]
        return [
            (None, {"fields": ["preview", "image"]}),
            ("Caption and credit", {"fields": ["caption", "credit", "title"]}),
            ("For readers who cannot see it", {"fields": ["alt_text", "is_decorative"]}),
            (
                "Crops",
                {
                    "fields": ["focal_point_x", "focal_point_y"],
                    "description": (
                        "Story cards show a 16:9 crop kept around this point. Click the "
                        "preview above to set it."
                    ),
                },
            ),
            (
                "File",
                {
                    "fields": [
                        "dimensions",
                        "file_size_display",
                        "file_hash",
                        "uploaded_by",
                        "created_at",
                        "renditions_status",
                    ],  # fmt: skip
                    "classes": ["collapse"],
                },
            ),
        ]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.uploaded_by = request.user
        super().save_model(request, obj, form, change)

    def get_deleted_objects(self, objs, request):
        """List the stories, authors and other rows using the photos as protected: none is deleted.

        The single delete page and the "delete selected" action both ask this, and both
        refuse to delete while anything is protected.
        """
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        uses = photo_uses(objs)
        if uses:
            protected = ProtectedUses(
                [self.describe_use(use) for use in uses] + list(protected),
                message=in_use_message(uses),
            )
        return deleted, model_count, perms_needed, protected

    def describe_use(self, use):
        """Return one use as the delete page lists it: kind, linked name, status and how."""
        instance = use.instance
        opts = instance._meta
        try:
            url = reverse(
                f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_change",
                args=[instance.pk],
            )
        except NoReverseMatch:
            url = ""
        name = format_html('<a href="{}">{}</a>', url, instance) if url else str(instance)
        status = format_html(" ({})", use.status) if use.status else ""
        return format_html(
            "{}: {}{} — {}", capfirst(opts.verbose_name), name, status, ", ".join(use.ways)
        )

    @admin.display(description="image")
    def thumbnail(self, photo):
        if not photo.image:
            return format_html('<span class="photo-awaiting-file">{}</span>', AWAITING_FILE_LABEL)
        return thumbnail_html(photo, display_width=LIST_THUMBNAIL_WIDTH)

    @admin.display(description="title or caption")
    def label(self, photo):
        return str(photo)

    @admin.display(description="size in pixels")
    def dimensions(self, photo):
        return f"{photo.width:,} × {photo.height:,}" if photo.width else "—"

    @admin.display(description="file size")
    def file_size_display(self, photo):
        return filesizeformat(photo.file_size) if photo.file_size else "—"

    @admin.display(description="resized copies")
    def renditions_status(self, photo):
        if not photo.image:
            return "None until the image file is uploaded."
        if photo.is_animated:
            return "Animated: served as uploaded."
        if photo.card_renditions_ready:
            return "Ready."
        if photo.picture_renditions_ready:
            return "Ready, except the crops for the new focal point (being redrawn)."
        return "Waiting for the worker; readers see the original file until then."

    @admin.display(description="preview")
    def preview(self, photo):
        if photo.pk and not photo.image:
            return f"{AWAITING_FILE_LABEL}: upload it below; readers see no photo until then."
        if not photo.pk:
            return "—"
        item = renditions.narrowest_covering(photo, width=PREVIEW_WIDTH, format="webp")
        url = item.url(photo) if item is not None else photo.image.url
        return format_html(
            '<div class="photo-focal-frame"><img src="{}" width="{}" height="{}" alt="{}">'
            '<span class="photo-focal-marker" hidden></span></div>',
            url,
            photo.width,
            photo.height,
            photo.alt_for(),
        )

    @admin.action(description="Make any missing resized copies of the selected photos")
    def redraw_renditions(self, request, queryset):
        photo_ids = list(queryset.values_list("pk", flat=True))
        for photo_id in photo_ids:
            photo_generate_renditions.enqueue(photo_id)
        self.message_user(
            request,
            f"Queued {len(photo_ids)} photo(s); the worker makes their missing copies.",
            messages.SUCCESS,
        )


class ProtectedUses(list):
    """The delete page's list of what stops the deletion, with the sentence that sums it up."""

    def __init__(self, items, *, message):
        super().__init__(items)
        self.message = message
