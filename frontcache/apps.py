from django.apps import AppConfig, apps
from django.db.models.signals import post_init


class FrontCacheConfig(AppConfig):
    name = "frontcache"
    verbose_name = "Front cache"

    def ready(self):
        from frontcache import invalidation, keys

        invalidation.connect()
        # Pages are tagged with every story, author, tag and photo they load.
        for app_label, model_name in keys.ROW_KEYS:
            post_init.connect(
                keys.row_loaded,
                sender=apps.get_model(app_label, model_name),
                dispatch_uid=f"frontcache-row-loaded-{app_label}.{model_name}",
            )
