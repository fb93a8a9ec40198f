"""Let the Editor role arrange and publish the front page; nobody else may."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

EDITOR_PERMISSIONS = [
    "change_frontpage", "view_frontpage", "publish_frontpage",
    "add_frontpagestory", "change_frontpagestory", "delete_frontpagestory",
    "view_frontpagestory",
    "add_frontpagesection", "change_frontpagesection", "delete_frontpagesection",
    "view_frontpagesection",
]  # fmt: skip


def grant(apps, schema_editor):
    app_config = apps.get_app_config("frontpage")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    editor, _ = Group.objects.get_or_create(name="Editor")
    editor.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="frontpage", codename__in=EDITOR_PERMISSIONS
        )
    )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    editor = Group.objects.filter(name="Editor").first()
    if editor is not None:
        editor.permissions.remove(*Permission.objects.filter(content_type__app_label="frontpage"))


class Migration(migrations.Migration):
    dependencies = [
        ("frontpage", "0001_initial"),
        ("articles", "0002_roles"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
