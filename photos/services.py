"""State changes to the photo library; the admin, the editor upload and the tasks use these."""

from functools import partial

from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import transaction
from PIL import Image

from photos import renditions
from photos.metadata import clean_original_once
from photos.models import Photo, Rendition
from photos.signals import renditions_ready
from photos.validation import ACCEPTED_FORMATS


@transaction.atomic
def photo_create(
    *,
    file: File,
    user,
    title: str = "",
    caption: str = "",
    credit: str = "",
    alt_text: str = "",
) -> Photo:
    """Add ``file`` to the library as uploaded by ``user``, with hints from its metadata filled in.

    Raise ``PermissionDenied`` without ``photos.add_photo`` and ``ValidationError`` when
    the file is not an acceptable image; nothing is stored in either case.
    """
    if not user.has_perm("photos.add_photo"):
        raise PermissionDenied("You do not have permission to add photos to the library.")
    # Checked, decoded and cleaned once: saving the photo below reuses the result.
    clean_original_once(file)
    photo = Photo(
        image=file,
        uploaded_by=user,
        title=title,
        caption=caption,
        credit=credit,
        alt_text=alt_text,
    )
    photo.save()
    return photo


def photo_create_awaiting_file(*, caption: str, credit: str, title: str = "") -> Photo:
    """Add a photo known so far by its caption and credit, whose image file is to be uploaded.

    For the importer, whose stories name their photo without the file: the caption and
    credit are kept, the photo desk lists it as awaiting its file, and readers see no
    photo until the file arrives.
    """
    photo = Photo(caption=caption, credit=credit[:255], title=(title or caption)[:255])
    photo.save()
    return photo


def photo_build_renditions(*, photo: Photo) -> int:
    """Draw missing renditions of ``photo``, drop outdated ones, mark it ready; return the count.

    Safe to run twice at once or again later: files land at fixed paths, rows are
    unique on (photo, spec, focal point), and the photo is only marked ready if its file
    and focal point are still the ones drawn.
    """
    plan = renditions.full_plan(photo)
    storage = photo.image.storage
    existing = {(row.spec, row.focal_point_key): row for row in photo.renditions.all()}
    missing = [
        item
        for item in plan
        if not rendition_is_current(existing.get((item.spec, item.focal_point_key)), item, photo)
    ]
    if missing:
        with storage.open(photo.image.name, "rb") as file:
            with Image.open(file, formats=list(ACCEPTED_FORMATS)) as image:
                if getattr(image, "is_animated", False):
                    # Stored before animations were recognised: serve it as uploaded.
                    Photo.objects.filter(pk=photo.pk).update(is_animated=True)
                    photo.is_animated = True
                    return 0
                source = renditions.prepare_source(image)
        for item, content in renditions.render(source, missing).items():
            rendition_store(photo=photo, item=item, content=content)

    with transaction.atomic():
        current = Photo.objects.select_for_update().filter(pk=photo.pk).first()
        if current is None or (current.file_hash, current.focal_point_key) != (
            photo.file_hash,
            photo.focal_point_key,
        ):
            # The photo changed while we drew; the task queued by that change finishes up.
            return len(missing)
        wanted = {(item.spec, item.focal_point_key) for item in plan}
        stale = [
            row.pk
            for row in photo.renditions.all()
            if (row.spec, row.focal_point_key) not in wanted
        ]
        Rendition.objects.filter(pk__in=stale).delete()
        key = renditions.renditions_key(photo.file_hash, photo.focal_point_key) if plan else ""
        Photo.objects.filter(pk=photo.pk).update(renditions_key=key)
        if key:
            transaction.on_commit(partial(renditions_ready.send, sender=Photo, photo_id=photo.pk))
    photo.renditions_key = key
    return len(missing)


def rendition_is_current(row: Rendition | None, item: renditions.PlannedRendition, photo) -> bool:
    return (
        row is not None
        and row.file.name == item.path(photo)
        and (row.width, row.height) == (item.width, item.height)
    )


def rendition_store(
    *, photo: Photo, item: renditions.PlannedRendition, content: bytes
) -> Rendition:
    """Write one rendition's file at its fixed path and record it, whoever else does the same."""
    storage = photo.image.storage
    path = item.path(photo)
    if storage.exists(path):
        storage.delete(path)
    saved_as = storage.save(path, ContentFile(content))
    if saved_as != path:
        # Another worker wrote the same bytes to ``path`` in between: theirs will do.
        storage.delete(saved_as)
    values = {"file": path, "width": item.width, "height": item.height}
    rendition, created = Rendition.objects.get_or_create(
        photo=photo, spec=item.spec, focal_point_key=item.focal_point_key, defaults=values
    )
    if not created and rendition.file.name != path:
        replaced = rendition.file.name
        Rendition.objects.filter(pk=rendition.pk).update(**values)
        transaction.on_commit(partial(storage.delete, replaced))
    elif not created:
        Rendition.objects.filter(pk=rendition.pk).update(width=item.width, height=item.height)
    return rendition
