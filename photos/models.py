import hashlib
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import PurePosixPath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import ProtectedError, Q

from photos import renditions
from photos.metadata import clean_original, clean_original_once
from photos.validation import MAX_FRAMES


def photo_upload_to(photo, filename):
    """Return a storage path that never collides and never reveals the uploader's file name."""
    extension = PurePosixPath(filename).suffix.lower() or ".jpg"
    return f"photos/{uuid.uuid4().hex[:2]}/{uuid.uuid4().hex}{extension}"


class PhotoQuerySet(models.QuerySet):
    def awaiting_file(self):
        """Return the photos recorded (by an import, say) before their image file arrived."""
        return self.filter(image="")

    def missing_for_publishing(self, need: str):
        """Return the photos that lack ``need`` ("image", "credit" or "alt_text").

        The admin's "needs attention" filter asks this; it judges as
        ``Photo.missing_for_publishing()`` does, text of nothing but spaces included.
        """
        blank = r"^\s*$"
        conditions = {
            "image": Q(image=""),
            "credit": Q(credit__regex=blank),
            "alt_text": Q(alt_text__regex=blank, is_decorative=False),
        }
        return self.filter(conditions[need])

    def delete(self):
        """Delete the photos unless any is in use; else raise ``PhotoInUseError``, deleting none."""
        refuse_if_in_use(self)
        return super().delete()


class Photo(models.Model):
    image = models.ImageField(
        upload_to=photo_upload_to,
        blank=True,
        help_text=(
            "A JPEG, PNG, WebP or GIF, up to 25 MB and 40 megapixels; an animated GIF may "
            f"have up to {MAX_FRAMES:,} frames. Location and camera data are removed when it "
            "is saved; a caption, credit or alt text written into the file fills the fields "
            "below that are left empty."
        ),
    )
    title = models.CharField(
        max_length=255,
        blank=True,
        help_text="For finding the photo in the library; readers do not see it.",
    )
    caption = models.TextField(
        blank=True,
        help_text="What the photo shows, as a sentence. Shown under the photo.",
    )
    credit = models.CharField(
        max_length=255,
        blank=True,
        help_text='Who took or supplied it, e.g. "AFP/File". Shown in brackets after the caption.',
    )
    alt_text = models.CharField(
        "alt text",
        max_length=500,
        blank=True,
        help_text="Describes the photo for readers who cannot see it.",
    )
    is_decorative = models.BooleanField(
        "decorative",
        default=False,
        help_text="Tick only when the photo adds nothing a screen reader user would miss.",
    )
    focal_point_x = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text="Horizontal centre of interest, from 0 (left) to 1 (right); kept in crops.",
    )
    focal_point_y = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text="Vertical centre of interest, from 0 (top) to 1 (bottom); kept in crops.",
    )
    width = models.PositiveIntegerField(editable=False, default=0)
    height = models.PositiveIntegerField(editable=False, default=0)
    file_size = models.PositiveBigIntegerField(editable=False, null=True)
    file_hash = models.CharField(
        max_length=64,
        editable=False,
        blank=True,
        db_index=True,
        help_text="SHA-256 of the stored file.",
    )
    source_hash = models.CharField(
        max_length=64,
        editable=False,
        blank=True,
        db_index=True,
        help_text="SHA-256 of the file as uploaded, before metadata was removed.",
    )
    is_animated = models.BooleanField(
        "animated",
        default=False,
        editable=False,
        help_text="Animations are served as uploaded, without resized copies.",
    )
    renditions_key = models.CharField(
        max_length=64,
        blank=True,
        editable=False,
        help_text="Set by the renditions task once every resized copy of this version exists.",
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="uploaded_photos",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = PhotoQuerySet.as_manager()

    # What the database holds, to tell on save whether the file or focal point changed.
    _stored_image_name = None
    _stored_focal_point_key = None
    # Set by save(): whether the file or focal point changed, so the renditions are redrawn.
    renditions_outdated = False

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(focal_point_x__isnull=True)
                | models.Q(focal_point_x__gte=0, focal_point_x__lte=1),
                name="photo_focal_point_x_in_range",
            ),
            models.CheckConstraint(
                condition=models.Q(focal_point_y__isnull=True)
                | models.Q(focal_point_y__gte=0, focal_point_y__lte=1),
                name="photo_focal_point_y_in_range",
            ),
        ]

    def __str__(self):
        return self.title or self.caption[:80] or f"Photo {self.pk}"

    def save(self, *args, **kwargs):
        """Store a new file cleaned and upright, and note whether its renditions are outdated.

        Raise ``ValidationError`` when a new file is not an acceptable image. Done here
        rather than in a service so that the admin, the editor upload, the importer and
        the shell all get it. The ``post_save`` receiver wired in ``PhotosConfig.ready()``
        queues the renditions once committed when ``renditions_outdated`` is set.
        """
        update_fields = kwargs.get("update_fields")
        image_changed = self._image_changed() and (
            update_fields is None or "image" in update_fields
        )
        self.renditions_outdated = image_changed or self._focal_point_changed()
        stored_name = self._store_clean_original() if image_changed else None
        if update_fields is None and not self._state.adding and not self.get_deferred_fields():
            # The renditions task sets renditions_key behind the admin's back; writing
            # back the value this form loaded would mark a finished photo unfinished.
            kwargs["update_fields"] = [
                field.attname
                for field in self._meta.concrete_fields
                if not field.primary_key and (field.name != "renditions_key" or image_changed)
            ]
        try:
            super().save(*args, **kwargs)
        except Exception:
            if stored_name:
                self.image.storage.delete(stored_name)
            raise
        self._remember_stored_state()

    def delete(self, *args, **kwargs):
        """Delete the photo unless it is in use; raise ``PhotoInUseError`` naming the users."""
        refuse_if_in_use([self])
        return super().delete(*args, **kwargs)

    @classmethod
    def from_db(cls, db, field_names, values):
        photo = super().from_db(db, field_names, values)
        photo._remember_stored_state()
        return photo

    def _remember_stored_state(self):
        image = self.__dict__.get("image")
        self._stored_image_name = getattr(image, "name", image)
        if {"focal_point_x", "focal_point_y"} <= self.__dict__.keys():
            self._stored_focal_point_key = self.focal_point_key

    def _focal_point_changed(self):
        if not {"focal_point_x", "focal_point_y"} <= self.__dict__.keys():
            return False  # deferred and never touched
        return self.focal_point_key != self._stored_focal_point_key

    def _image_changed(self):
        if "image" not in self.__dict__:
            return False  # deferred and never touched
        if not self.image:
            return False
        return not self.image._committed or self.image.name != self._stored_image_name

    def _store_clean_original(self):
        """Replace the pending file with its cleaned version and record what it is; return its name.

        A file already put in storage by the caller (as the importer does) is replaced
        when anything had to be removed from it, since it still holds that metadata.
        """
        field_file = self.image
        already_stored = field_file.name if field_file._committed else None
        if already_stored:
            try:
                with field_file.storage.open(already_stored, "rb") as source:
                    cleaned = clean_original(source)
            except ValidationError:
                # Put there for this save only, and no row will point at it.
                field_file.storage.delete(already_stored)
                raise
            upload_name = ""
        else:
            # Already checked and cleaned by the upload form or photo_create, if it came that way.
            cleaned = clean_original_once(field_file.file)
            upload_name = PurePosixPath(getattr(field_file.file, "name", "") or "").stem

        new_name = None
        keep_as_stored = (
            already_stored
            and cleaned.file_hash == cleaned.source_hash
            and already_stored.lower().endswith("." + cleaned.extension)
        )
        if not keep_as_stored:
            field_file.save(f"photo.{cleaned.extension}", ContentFile(cleaned.content), save=False)
            new_name = field_file.name
            if already_stored:
                field_file.storage.delete(already_stored)

        self.width, self.height = cleaned.width, cleaned.height
        self.file_size = len(cleaned.content)
        self.file_hash = cleaned.file_hash
        self.source_hash = cleaned.source_hash
        self.is_animated = cleaned.is_animated
        self.renditions_key = ""
        hints = cleaned.metadata
        self.caption = self.caption or hints.caption
        self.credit = self.credit or hints.credit_line[:255]
        self.alt_text = self.alt_text or hints.alt_text[:500]
        self.title = self.title or hints.title[:255]
        if not (self.title or self.caption) and upload_name:
            self.title = upload_name[:255]
        return new_name

    def missing_for_publishing(self) -> list[str]:
        """Return what this photo lacks before a story showing it can be published.

        Any of "image" (the file has not arrived), "credit" and "alt_text" (not needed
        when the photo is decorative), in that order; empty when it is ready. The publish
        checklist, the photo chooser and the library's filter each word these their way.
        """
        missing = []
        if not self.image:
            missing.append("image")
        if not self.credit.strip():
            missing.append("credit")
        if not self.alt_text.strip() and not self.is_decorative:
            missing.append("alt_text")
        return missing

    @property
    def ready_to_publish(self) -> bool:
        """Return whether a story showing this photo may be published, as far as it goes."""
        return not self.missing_for_publishing()

    def alt_for(self, caption: str = "", *, override: str = "") -> str:
        """Return the alt text for showing this photo somewhere.

        Empty for a decorative photo; else ``override`` (text written for one place, such
        as an author's name on their page), the photo's own alt text, or ``caption`` (the
        story's caption for it), the first of them that is not empty.
        """
        if self.is_decorative:
            return ""
        return override or self.alt_text or caption

    @property
    def caption_with_credit(self):
        """Return the caption followed by the bracketed credit, as the seed story prints it."""
        return caption_with_credit(self.caption, self.credit)

    @property
    def focal_point_key(self):
        """Return the focal point as whole percentages, e.g. "50-50" for the default centre."""
        return renditions.focal_point_key(self.focal_point_x, self.focal_point_y)

    @property
    def picture_renditions_ready(self):
        """Return whether the resized copies of the current file exist, without a query."""
        if self.is_animated or not self.file_hash:
            return False
        expected = renditions.renditions_key(self.file_hash, "")
        return self.renditions_key.rpartition(":")[0] == expected.rpartition(":")[0]

    @property
    def card_renditions_ready(self):
        """Return whether the 16:9 crops for the current focal point exist, without a query."""
        if self.is_animated or not self.file_hash:
            return False
        return self.renditions_key == renditions.renditions_key(
            self.file_hash, self.focal_point_key
        )


class Rendition(models.Model):
    """A resized or cropped copy of a photo, made by the renditions task."""

    photo = models.ForeignKey(Photo, on_delete=models.CASCADE, related_name="renditions")
    spec = models.CharField(
        max_length=64, help_text='What was drawn, e.g. "w640.webp" or "fill-16x9-w480.jpeg".'
    )
    focal_point_key = models.CharField(
        max_length=16, blank=True, help_text="The focal point a crop was made for; empty if none."
    )
    file = models.FileField(max_length=255)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["photo", "spec"]
        constraints = [
            models.UniqueConstraint(
                fields=["photo", "spec", "focal_point_key"], name="rendition_unique_spec"
            ),
        ]

    def __str__(self):
        return f"{self.spec} ({self.width}×{self.height})"


def caption_with_credit(caption, credit):
    """Return ``caption (credit)``, or whichever of the two is present."""
    caption = caption.strip()
    credit = credit.strip()
    if caption and credit:
        return f"{caption} ({credit})"
    return caption or (f"({credit})" if credit else "")


def file_sha256(file):
    """Return the SHA-256 hex digest of a Django file, leaving it rewound."""
    digest = hashlib.sha256()
    file.open("rb")
    file.seek(0)
    for chunk in file.chunks():
        digest.update(chunk)
    file.seek(0)
    return digest.hexdigest()


# Where photos are used --------------------------------------------------------------


class PhotoInUseError(ProtectedError):
    """Photos that stories, authors or other rows still show; ``uses`` says which and how."""

    def __init__(self, uses):
        self.uses = uses
        super().__init__(in_use_message(uses), {use.instance for use in uses})


@dataclass(frozen=True)
class PhotoUse:
    """A row that shows library photos, and how: e.g. "lead photo" or "in its text"."""

    instance: models.Model
    photo_ids: tuple[int, ...]
    ways: tuple[str, ...]

    @property
    def status(self) -> str:
        """Return the row's state as the newsroom says it ("Published"), if it has one."""
        return str(getattr(self.instance, "status_label", ""))


def photo_relations() -> list[models.ForeignObjectRel]:
    """Return the foreign keys to ``Photo`` of rows that would outlive it.

    Found through Django's model metadata rather than by importing the apps that use
    photos, which sit above this one. A relation whose rows go with the photo (its
    renditions) is part of the photo, not a use of it.
    """
    return [
        relation
        for relation in Photo._meta.get_fields(include_hidden=True)
        if isinstance(relation, models.ManyToOneRel) and relation.on_delete is not models.CASCADE
    ]


def text_markers(photo: Photo) -> list[str]:
    """Return what HTML showing ``photo`` contains: its file name, renditions folder or id."""
    markers = [f"{renditions.RENDITIONS_FOLDER}/{photo.pk}/", f'data-photo-id="{photo.pk}"']
    if photo.image:
        markers.append(photo.image.name)
    return markers


def photo_uses(photos) -> list[PhotoUse]:
    """Return every row using any of ``photos``: through a foreign key, or in its text's images.

    The text of each model that links photos is searched too, since story HTML shows
    photos in ``<img>`` elements that no foreign key records. Two queries per such model.
    """
    photos = [photo for photo in photos if photo.pk is not None]
    if not photos:
        return []
    # Dicts as ordered sets: (model, pk) -> (row, photo ids, ways).
    found: dict[tuple, tuple[models.Model, dict[int, None], dict[str, None]]] = {}

    def note(instance, photo_id, way):
        entry = found.setdefault((type(instance), instance.pk), (instance, {}, {}))
        entry[1][photo_id] = None
        entry[2][way] = None

    markers = {marker: photo.pk for photo in photos for marker in text_markers(photo)}
    searched = set()
    for relation in photo_relations():
        model, field = relation.related_model, relation.field
        for row in model._default_manager.filter(**{f"{field.name}__in": photos}):
            note(row, getattr(row, field.attname), str(field.verbose_name))
        if model in searched:
            continue
        searched.add(model)
        text_fields = [
            field.name
            for field in model._meta.concrete_fields
            if isinstance(field, models.TextField)
        ]
        condition = Q()
        for name in text_fields:
            for marker in markers:
                condition |= Q(**{f"{name}__contains": marker})
        if not condition:
            continue
        for row in model._default_manager.filter(condition):
            for marker, photo_id in markers.items():
                if any(marker in (getattr(row, name) or "") for name in text_fields):
                    note(row, photo_id, "in its text")
    uses = [
        PhotoUse(instance=instance, photo_ids=tuple(photo_ids), ways=tuple(ways))
        for instance, photo_ids, ways in found.values()
    ]
    # The kind of row with the most uses first ("3 stories and 1 author"), then by name.
    per_model = Counter(type(use.instance) for use in uses)
    return sorted(
        uses,
        key=lambda use: (
            -per_model[type(use.instance)],
            str(type(use.instance)._meta.verbose_name),
            str(use.instance),
        ),
    )


def in_use_message(uses: list[PhotoUse]) -> str:
    """Return, e.g., "This photo is used by 3 stories and 1 author; remove it from them first."."""
    counts = Counter(type(use.instance) for use in uses)
    parts = [
        f"{count} {model._meta.verbose_name if count == 1 else model._meta.verbose_name_plural}"
        for model, count in counts.items()
    ]
    users = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    photo_count = len({photo_id for use in uses for photo_id in use.photo_ids})
    if photo_count == 1:
        return f"This photo is used by {users}; remove it from them first."
    return f"{photo_count} of these photos are used by {users}; remove the photos from them first."


def refuse_if_in_use(photos) -> None:
    """Raise ``PhotoInUseError`` when any of ``photos`` is in use."""
    uses = photo_uses(photos)
    if uses:
        raise PhotoInUseError(uses)
