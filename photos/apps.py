from django.apps import AppConfig


class PhotosConfig(AppConfig):
    name = "photos"
    verbose_name = "Photo desk"

    def ready(self):
        from photos import signals  # noqa: F401
