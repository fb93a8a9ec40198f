import hashlib
import uuid
from pathlib import PurePosixPath

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


def photo_upload_to(photo, filename):
    """Return a storage path that never collides and never reveals the uploader's file name."""
    extension = PurePosixPath(filename).suffix.lower() or ".jpg"
    return f"photos/{uuid.uuid4().hex[:2]}/{uuid.uuid4().hex}{extension}"


class Photo(models.Model):
    image = models.ImageField(upload_to=photo_upload_to, width_field="width", height_field="height")
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
    file_hash = models.CharField(max_length=64, editable=False, blank=True, db_index=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="uploaded_photos",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

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
        if self.image and (not self.file_hash or self.file_size is None):
            self.file_hash = self.file_hash or file_sha256(self.image)
            self.file_size = self.image.size
        super().save(*args, **kwargs)

    @property
    def caption_with_credit(self):
        """Return the caption followed by the bracketed credit, as the seed story prints it."""
        return caption_with_credit(self.caption, self.credit)


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
