"""Create the newsroom's roles as groups with their permissions.

Permissions are normally created after all migrations run; creating them here lets
the groups be complete on the first `migrate`.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLES = {
    "Reporter": [
        "articles.add_article", "articles.change_article", "articles.view_article",
        "articles.view_section", "articles.view_tag",
        "articles.view_author", "articles.view_articleauthor",
        "articles.add_articleauthor", "articles.change_articleauthor",
        "articles.delete_articleauthor",
        "photos.add_photo", "photos.change_photo", "photos.view_photo",
    ],
    "Editor": [
        "articles.add_article", "articles.change_article", "articles.delete_article",
        "articles.view_article", "articles.publish_article",
        "articles.add_section", "articles.change_section", "articles.delete_section",
        "articles.view_section",
        "articles.add_tag", "articles.change_tag", "articles.delete_tag", "articles.view_tag",
        "articles.add_author", "articles.change_author", "articles.delete_author",
        "articles.view_author",
        "articles.add_articleauthor", "articles.change_articleauthor",
        "articles.delete_articleauthor", "articles.view_articleauthor",
        "articles.add_correction", "articles.change_correction", "articles.delete_correction",
        "articles.view_correction",
        "photos.add_photo", "photos.change_photo", "photos.delete_photo", "photos.view_photo",
        "newsroom.change_sitesettings", "newsroom.view_sitesettings",
    ],
    # Newsletter permissions are added by the newsletter app's own migrations.
    "Audience": [],
}  # fmt: skip


def create_roles(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=role)
        for dotted in codenames:
            app_label, codename = dotted.split(".")
            permission = Permission.objects.get(
                content_type__app_label=app_label, codename=codename
            )
            group.permissions.add(permission)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0001_initial"),
        ("photos", "0001_initial"),
        ("newsroom", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
