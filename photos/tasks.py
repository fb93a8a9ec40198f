"""Background work for the photo desk, run by the tasks worker on the "photos" queue."""

from functools import partial

from django.db import transaction
from django_tasks import task

from photos.models import Photo
from photos.services import photo_build_renditions


@task(queue_name="photos")
def photo_generate_renditions(photo_id: int) -> int:
    """Draw the renditions of photo ``photo_id``; return how many were drawn, 0 if it is gone."""
    photo = Photo.objects.filter(pk=photo_id).first()
    if photo is None:
        return 0
    return photo_build_renditions(photo=photo)


def queue_renditions_after_save(sender, instance, raw=False, **kwargs):
    """Queue the renditions of a photo saved with a new file or focal point, once committed.

    Connected to ``post_save`` in ``PhotosConfig.ready()``, so every path that saves a
    photo gets it, without the model knowing about the queue.
    """
    if raw or not instance.renditions_outdated:
        return
    # Robust: a queue that is down must not turn a saved photo into an error page;
    # the original is served meanwhile and queue_photo_renditions catches up.
    transaction.on_commit(partial(photo_generate_renditions.enqueue, instance.pk), robust=True)
