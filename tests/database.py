"""Choose the database and environment for the test run before Django reads its settings.

Loaded as a pytest plugin (``-p tests.database`` in pyproject.toml) because Django's
settings are imported before any conftest.py. Order: ``DATABASE_URL`` if set; else
PostgreSQL on 127.0.0.1:5432 if it answers; else SQLite, loudly. ``REQUIRE_POSTGRES=1``
(CI) turns the fallback into a failure.
"""

import os
import sys
import tempfile
from pathlib import Path

import pytest

LOCAL_POSTGRES = "postgres://postgres@127.0.0.1:5432/newsroom"
ROOT = Path(__file__).resolve().parent.parent


def postgres_answers(url):
    import psycopg

    try:
        with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", connect_timeout=3):
            return True, ""
    except psycopg.Error as error:
        return False, str(error).strip().splitlines()[0] if str(error).strip() else repr(error)


def choose_database():
    require_postgres = os.environ.get("REQUIRE_POSTGRES") == "1"
    url = os.environ.get("DATABASE_URL", "")
    if url:
        if require_postgres and not url.startswith(("postgres://", "postgresql://")):
            raise pytest.UsageError(f"REQUIRE_POSTGRES=1 but DATABASE_URL is {url!r}.")
        return url
    answers, reason = postgres_answers(LOCAL_POSTGRES)
    if answers:
        os.environ["DATABASE_URL"] = LOCAL_POSTGRES
        return LOCAL_POSTGRES
    if require_postgres:
        raise pytest.UsageError(
            f"REQUIRE_POSTGRES=1 but PostgreSQL at 127.0.0.1:5432 does not answer: {reason}"
        )
    sys.stderr.write(
        "\n" + "!" * 78 + "\n"
        "!! PostgreSQL at 127.0.0.1:5432 does not answer; running the tests on SQLite.\n"
        "!! Skipped: full-text search ranking, PostgreSQL constraints and pooling.\n"
        "!! Set DATABASE_URL or start PostgreSQL to run everything.\n" + "!" * 78 + "\n\n"
    )
    return "sqlite"


os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-" + "x" * 40)
os.environ.setdefault("DEBUG", "0")
# The test client speaks plain HTTP; the HTTPS redirect is covered by the deploy check test.
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
# Static files are collected per run, so parallel runs never see half-written manifests.
os.environ.setdefault("STATIC_ROOT", tempfile.mkdtemp(prefix="newsroom-test-static-"))
os.environ.setdefault("TASKS_BACKEND", "immediate")
# Staff sign in with a password alone unless a test asks for two-factor (tests/accounts).
os.environ.setdefault("STAFF_2FA", "off")
# One process: local memory is a shared cache here.
os.environ["CACHE_URL"] = "locmem://"
DATABASE_CHOICE = choose_database()
# One test database per run, so that two checkouts (or two people) testing at once on
# the same PostgreSQL server do not drop each other's database mid-run.
os.environ.setdefault("TEST_DATABASE_NAME", f"test_newsroom_{os.getpid()}")


def pytest_report_header(config):
    return f"newsroom test database: {DATABASE_CHOICE}"


def shared_database_url():
    """Return DATABASE_URL pointing at this run's test database, for other processes.

    Servers and workers a test starts see what the test committed (``transaction=True``).
    """
    from urllib.parse import urlsplit, urlunsplit

    from django.db import connection

    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))
