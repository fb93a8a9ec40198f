import pytest
from django.core.cache import cache
from django.core.management import call_command


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
