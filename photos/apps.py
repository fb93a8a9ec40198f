from django.apps import AppConfig
from django.db.models.signals import post_save


class PhotosConfig(AppConfig):
    name = "photos"
    verbose_name = "Photo desk"

    def ready(self):
        # Imported here, once the models are loaded: the models know nothing of the queue.
        from photos import signals  # noqa: F401
        from photos.models import Photo
        from photos.tasks import queue_renditions_after_save

        post_save.connect(
            queue_renditions_after_save,
            sender=Photo,
            dispatch_uid="photos.queue_renditions_after_save",
        )
