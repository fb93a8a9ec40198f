import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import PASSWORD, UserFactory


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Hash the factories' passwords cheaply: these tests are about photos, not logins."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def editor(db):
    return UserFactory(username="editor", role="Editor")


@pytest.fixture
def logged_in_editor(client, editor):
    """Return the test client signed in as the editor through the login form's backends."""
    assert client.login(username=editor.username, password=PASSWORD)
    return client


@pytest.fixture
def reporter(db):
    return UserFactory(username="reporter", role="Reporter")


@pytest.fixture
def stored_files(media_root):
    """Return a function listing every file under MEDIA_ROOT, as paths relative to it."""

    def files():
        if not media_root.exists():
            return []
        return sorted(
            str(path.relative_to(media_root)) for path in media_root.rglob("*") if path.is_file()
        )

    return files


def upload(name: str, content: bytes, content_type: str = "application/octet-stream"):
    return SimpleUploadedFile(name, content, content_type=content_type)
