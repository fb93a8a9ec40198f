"""Create the two starting newsletters and give the Audience role the newsletter's permissions.

Permissions are normally created after all migrations run; creating them here lets the
role be complete on the first `migrate` (as articles/migrations/0002_roles.py does).
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

NEWSLETTERS = [
    {
        "name": "Daily Briefing",
        "slug": "daily-briefing",
        "description": "The day's essential stories, every weekday morning.",
        "is_default": True,
        "position": 0,
    },
    {
        "name": "Breaking News",
        "slug": "breaking-news",
        "description": "An email when a big story breaks. Only a few a month.",
        "is_default": False,
        "position": 1,
    },
]

AUDIENCE_PERMISSIONS = [
    "add_newsletter", "change_newsletter", "view_newsletter",
    "add_subscriber", "change_subscriber", "view_subscriber",
    "export_subscribers", "import_subscribers", "erase_subscriber",
    "add_subscription", "change_subscription", "delete_subscription", "view_subscription",
    "view_consentrecord",
    "add_issue", "change_issue", "delete_issue", "view_issue", "send_issue",
    "add_issuestory", "change_issuestory", "delete_issuestory", "view_issuestory",
    "view_delivery", "change_delivery",
]  # fmt: skip


def create_newsletters_and_role(apps, schema_editor):
    app_config = apps.get_app_config("newsletter")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None

    Newsletter = apps.get_model("newsletter", "Newsletter")
    for newsletter in NEWSLETTERS:
        Newsletter.objects.get_or_create(slug=newsletter["slug"], defaults=newsletter)

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    audience, _ = Group.objects.get_or_create(name="Audience")
    audience.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="newsletter", codename__in=AUDIENCE_PERMISSIONS
        )
    )


def remove_role_permissions(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    audience = Group.objects.filter(name="Audience").first()
    if audience is not None:
        audience.permissions.remove(
            *Permission.objects.filter(content_type__app_label="newsletter")
        )


class Migration(migrations.Migration):
    dependencies = [
        ("newsletter", "0001_initial"),
        ("articles", "0002_roles"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_newsletters_and_role, remove_role_permissions)]
