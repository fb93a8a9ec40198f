"""Browser tests: Playwright driving Debian's Chromium against Django's live server.

Chromium comes from the system (apt `chromium`), never from `playwright install`. Without
it these tests are skipped, unless REQUIRE_BROWSER=1 (CI), which makes that a failure.
"""

import os
import shutil

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests
# make there are still synchronous, so Django's async guard does not apply.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def live_server(request):
    """Serve the site as production does, static files from WhiteNoise's hashed manifest.

    pytest-django's own live server answers /static/ through the staticfiles finders,
    which know nothing of hashed names; handing /static/ on to the application lets
    WhiteNoise serve it. pytest-django still manages the database and ALLOWED_HOSTS.
    """
    from pytest_django.live_server_helper import LiveServer

    server = LiveServer("localhost", start=False)
    server.thread.static_handler = lambda application: application
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        message = f"Chromium not found at {CHROMIUM}; install Debian's chromium package."
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message + " (REQUIRE_BROWSER=1 turns this skip into a failure)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def phone_page(browser):
    context = browser.new_context(viewport={"width": 320, "height": 640}, is_mobile=True)
    page = context.new_page()
    yield page
    context.close()
