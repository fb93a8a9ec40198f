import importlib

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db.models.signals import post_migrate


@pytest.fixture(scope="session", autouse=True)
def collected_static_files():
    """Build the hashed static manifest once, as production does, so templates can link CSS."""
    call_command("collectstatic", interactive=False, verbosity=0)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Keep every uploaded or generated file in a per-test temporary folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def empty_cache():
    """Start each test with an empty cache, as the database starts empty."""
    cache.clear()
    yield
    cache.clear()


MOVED_APP_LABELS = {"newsroom": "publication"}


def restore_roles(sender, **kwargs):
    """Recreate the role groups after a transactional test's flush empties the tables.

    The groups come from data migrations, which a flush does not re-run; the permissions
    they hold are recreated by Django's own post_migrate handlers, which run first.
    """
    if sender.label != "newsletter":  # the last of our apps: every permission exists by now
        return
    from django.contrib.auth.models import Group, Permission

    roles = importlib.import_module("articles.migrations.0002_roles").ROLES
    audience = importlib.import_module(
        "newsletter.migrations.0002_newsletters_and_audience_role"
    ).AUDIENCE_PERMISSIONS
    for role, dotted_names in roles.items():
        group, _ = Group.objects.get_or_create(name=role)
        for dotted in dotted_names:
            app_label, codename = dotted.split(".")
            # The migration names models where they were then: the site settings have
            # since moved from the project package to the publication app.
            app_label = MOVED_APP_LABELS.get(app_label, app_label)
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
    Group.objects.get(name="Audience").permissions.add(
        *Permission.objects.filter(content_type__app_label="newsletter", codename__in=audience)
    )
    front_page = importlib.import_module(
        "frontpage.migrations.0002_editors_arrange_the_front_page"
    ).EDITOR_PERMISSIONS
    Group.objects.get(name="Editor").permissions.add(
        *Permission.objects.filter(content_type__app_label="frontpage", codename__in=front_page)
    )


post_migrate.connect(restore_roles, dispatch_uid="tests-restore-roles")
