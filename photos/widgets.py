"""The photo chooser: a foreign key to a library photo, shown as the photo itself.

Built on the admin's raw-id widget, so choosing opens the photo library (with its
thumbnails and search) in a popup and no inline script is needed; a small static script
refreshes the preview when the choice changes.
"""

from django.contrib.admin.widgets import ForeignKeyRawIdWidget
from django.core.exceptions import ValidationError
from django.urls import NoReverseMatch, reverse

from photos.models import Photo
from photos.templatetags.photos import thumbnail_source

PREVIEW_WIDTH = 160


GAP_MESSAGES = {
    "image": "No image file yet: upload it on the photo's page.",
    "credit": "No credit yet.",
    "alt_text": "No alt text yet (or mark it decorative).",
}


def photo_gaps(photo: Photo) -> list[str]:
    """Return what ``photo`` lacks before a story using it can be published."""
    return [GAP_MESSAGES[need] for need in photo.missing_for_publishing()]


def photo_summary(photo: Photo, *, admin_site_name: str = "admin") -> dict:
    """Return what the chooser shows for ``photo``, as JSON-ready data."""
    thumbnail = None
    if photo.image:
        url, width, height = thumbnail_source(photo, display_width=PREVIEW_WIDTH)
        thumbnail = {
            "url": url,
            "width": PREVIEW_WIDTH,
            "height": max(1, round(PREVIEW_WIDTH * height / width)) if width else PREVIEW_WIDTH,
        }
    try:
        change_url = reverse(f"{admin_site_name}:photos_photo_change", args=[photo.pk])
    except NoReverseMatch:
        change_url = ""
    return {
        "id": photo.pk,
        "label": str(photo),
        "caption": photo.caption,
        "credit": photo.credit,
        "change_url": change_url,
        "thumbnail": thumbnail,
        "gaps": photo_gaps(photo),
    }


class PhotoChooserWidget(ForeignKeyRawIdWidget):
    """A raw-id input for a photo that shows the chosen photo's thumbnail, caption and credit.

    ``PhotoChooserWidget(db_field.remote_field, admin_site, can_add=...)``; the field
    must also be in the ModelAdmin's ``raw_id_fields`` so the admin does not wrap it.
    """

    # In the app, not the project's templates/: the default form renderer only looks in
    # app folders (and django/forms), whatever TEMPLATES says.
    template_name = "admin/photos/widgets/photo_chooser.html"

    class Media:
        css = {"all": ["photos/admin.css"]}
        # The admin's own media already bring jQuery and RelatedObjectLookups.js.
        js = ["photos/photo-chooser.js"]

    def __init__(self, rel, admin_site, attrs=None, using=None, *, can_add=False):
        super().__init__(rel, admin_site, attrs=attrs, using=using)
        self.can_add = can_add
        self.chosen_photo = None

    def label_and_url_for_value(self, value):
        try:
            self.chosen_photo = Photo.objects.using(self.db).filter(pk=value).first()
        except (ValueError, TypeError, ValidationError):
            self.chosen_photo = None
        if self.chosen_photo is None:
            return "", ""
        return super().label_and_url_for_value(value)

    def get_context(self, name, value, attrs):
        self.chosen_photo = None
        context = super().get_context(name, value, attrs)
        photo = self.chosen_photo
        context["photo"] = photo
        context["summary"] = (
            photo_summary(photo, admin_site_name=self.admin_site.name) if photo else None
        )
        # The script puts the chosen number in place of "{id}".
        context["summary_url"] = reverse("photos:chooser_summary", args=[0]).replace(
            "/0/", "/{id}/"
        )
        if self.can_add:
            add_url = reverse(
                f"{self.admin_site.name}:photos_photo_add", current_app=self.admin_site.name
            )
            context["add_url"] = f"{add_url}?_to_field=id&_popup=1"
        return context


class PhotoChooserAdminMixin:
    """Show the foreign keys named in ``photo_chooser_fields`` with ``PhotoChooserWidget``.

    Name the same fields in ``raw_id_fields`` too.
    """

    photo_chooser_fields = ()

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name in self.photo_chooser_fields:
            kwargs["widget"] = PhotoChooserWidget(
                db_field.remote_field,
                self.admin_site,
                using=kwargs.get("using"),
                can_add=request.user.has_perm("photos.add_photo"),
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
