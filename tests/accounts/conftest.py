import pytest

from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def two_factor_off(settings):
    """Start from password-only sign-in; tests about two-factor sign-in turn it on."""
    settings.STAFF_2FA = "off"


@pytest.fixture
def editor():
    return UserFactory(username="ed", role="Editor")


@pytest.fixture
def reporter():
    return UserFactory(username="rita", role="Reporter")


@pytest.fixture
def superuser():
    return UserFactory(username="root", is_superuser=True)
