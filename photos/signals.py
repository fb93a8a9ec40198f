"""Files follow their rows, and the rest of the site hears when a photo's renditions are ready."""

from functools import partial

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import Signal, receiver

from photos.models import Photo, Rendition

# Sent with ``photo_id`` after the renditions task marks a photo ready. The task writes
# with a queryset update, so no post_save fires: caches of pages showing the photo's
# original-file fallback can listen here instead.
renditions_ready = Signal()


@receiver(post_delete, sender=Photo, dispatch_uid="photos.delete_photo_file")
@receiver(post_delete, sender=Rendition, dispatch_uid="photos.delete_rendition_file")
def delete_file_after_commit(sender, instance, using, **kwargs):
    """Delete the row's file once the deletion is committed, so a rollback loses nothing."""
    file = instance.image if sender is Photo else instance.file
    if file and file.name:
        transaction.on_commit(partial(file.storage.delete, file.name), using=using)
