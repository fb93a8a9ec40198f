"""Fixtures for the front-cache tests that need the real thing: Varnish and gunicorn.

``front`` serves the test database through varnishd (deploy/varnish/newsroom.vcl) and
gunicorn, both started once per module; saves made in the test process purge that
Varnish, as they would in production. Tests using it need committed data
(``transactional_db``), since another process reads it. Without varnishd these tests are
skipped, unless REQUIRE_VARNISH=1 (CI), which makes that a failure.
"""

import os
import signal
import subprocess
import sys

import pytest
from django.core.cache import cache
from django.db import connection

from tests.database import shared_database_url
from tests.frontcache.front_servers import (
    HOST,
    ROOT,
    SHIPPED_VCL,
    STALE_WHILE_REVALIDATE,
    VARNISH_PROGRAMS,
    FailingApplication,
    Gunicorn,
    Varnish,
    eventually,
    fetch,
    free_port,
    program,
)


def require_front(directory):
    missing = [name for name in VARNISH_PROGRAMS if not program(name)]
    problem = f"{', '.join(missing)} not found" if missing else vcl_problem(directory)
    if problem:
        message = (
            f"{problem}: install Debian's varnish and varnish-modules to run the front-cache tests"
        )
        if os.environ.get("REQUIRE_VARNISH") == "1":
            pytest.fail(message)
        pytest.skip(message + " (REQUIRE_VARNISH=1 turns this skip into a failure)")
    if connection.vendor != "postgresql":
        pytest.skip("the front-cache tests share the test database with gunicorn: PostgreSQL only")


def vcl_problem(directory):
    """Return why the shipped VCL does not compile here (no xkey module, say), or ""."""
    compiled = subprocess.run(
        [
            program("varnishd"),
            "-C",
            "-n",
            str(directory / "compile"),
            "-f",
            str(SHIPPED_VCL),
            "-p",
            f"vcl_path={SHIPPED_VCL.parent}",
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=60,
    )
    if compiled.returncode == 0:
        return ""
    return "the shipped VCL does not compile: " + " ".join(compiled.stderr.split()[-40:])


class Front:
    """What a reader's browser and an operator's shell see of the running front."""

    def __init__(self, varnish, app, environment):
        self.varnish = varnish
        self.app = app
        self.environment = environment

    def get(self, path, headers=None):
        return fetch(self.varnish.port, path, headers=headers)

    def request(self, method, path, headers=None, body=None):
        return fetch(self.varnish.port, path, method=method, headers=headers, body=body)

    def purge(self, *, soft=(), hard=()):
        headers = {}
        if soft:
            headers["xkey-softpurge"] = " ".join(soft)
        if hard:
            headers["xkey-purge"] = " ".join(hard)
        return self.request("PURGE", "/", headers=headers)

    def manage_shell(self, code):
        """Run ``code`` in ``manage.py shell``: another process writing to the same database."""
        return subprocess.run(
            [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
            cwd=ROOT,
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )

    def stop_app(self):
        self.app.stop()

    def start_app(self):
        if not self.app.running:
            self.app.start()
        assert eventually(self.varnish.backend_is_healthy, timeout=15, interval=0.2)

    def pause_app(self):
        self.app.signal(signal.SIGSTOP)

    def resume_app(self):
        self.app.signal(signal.SIGCONT)


@pytest.fixture(scope="module")
def front_servers(django_db_setup, collected_static_files, tmp_path_factory):
    directory = tmp_path_factory.mktemp("front")
    require_front(directory)
    varnish_port = free_port()
    app_port = free_port()
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "newsroom.settings",
        "DATABASE_URL": shared_database_url(),
        "DEBUG": "0",
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": f"{HOST},localhost",
        "BEHIND_PROXY": "1",
        # The file cache every process on a machine shares, as in production without
        # CACHE_URL; this run's own folder, so emptying it touches nobody else's.
        "CACHE_URL": "",
        "CACHE_DIR": str(directory / "cache"),
        "MEDIA_ROOT": str(directory / "media"),
        "VARNISH_URLS": f"http://{HOST}:{varnish_port}",
        "FRONT_CACHE_STALE_WHILE_REVALIDATE": str(STALE_WHILE_REVALIDATE),
        "TASKS_BACKEND": "immediate",
    }
    app = Gunicorn(directory / "gunicorn", environment, port=app_port)
    varnish = Varnish(directory / "varnish", backend_port=app_port, port=varnish_port)
    app.start()
    try:
        varnish.start()
    except BaseException:
        app.stop()
        raise
    yield Front(varnish, app, environment)
    varnish.stop()
    app.stop()


@pytest.fixture
def front(front_servers, transactional_db, settings):
    """The running front, empty, with this process's saves purging it and sharing its cache."""
    settings.VARNISH_URLS = [front_servers.varnish.url]
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": front_servers.environment["CACHE_DIR"],
        }
    }
    settings.FRONT_CACHE_STALE_WHILE_REVALIDATE = STALE_WHILE_REVALIDATE
    cache.clear()
    front_servers.start_app()
    front_servers.varnish.empty()
    front_servers.app.forget_requests()
    yield front_servers
    cache.clear()


@pytest.fixture(scope="module")
def front_before_failing_application(tmp_path_factory):
    """varnishd with the shipped VCL in front of a FailingApplication; yields both."""
    directory = tmp_path_factory.mktemp("failing-front")
    require_front(directory)
    application = FailingApplication()
    application.start()
    varnish = Varnish(directory / "varnish", backend_port=application.port)
    try:
        varnish.start()
    except BaseException:
        application.stop()
        raise
    yield varnish, application
    varnish.stop()
    application.stop()
