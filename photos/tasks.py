"""Background work for the photo desk, run by the tasks worker on the "photos" queue."""

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
