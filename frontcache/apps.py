from django.apps import AppConfig


class FrontCacheConfig(AppConfig):
    name = "frontcache"
    verbose_name = "Front cache"

    def ready(self):
        from frontcache import invalidation

        invalidation.connect()
