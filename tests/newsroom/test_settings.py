"""Configuration as an operator meets it: real processes started with real environments."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENVIRONMENT = {
    "DEBUG": "0",
    "SECRET_KEY": "a-long-random-production-secret-" + "k7Qz" * 12,
    "ALLOWED_HOSTS": "news.example.org",
    "CSRF_TRUSTED_ORIGINS": "https://news.example.org",
    "SECURE_SSL_REDIRECT": "1",
}


def run_manage(*args, environment):
    """Run manage.py in a fresh process with only the given environment (plus PATH)."""
    env = {"PATH": os.environ["PATH"], **environment}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = run_manage("check", environment={"DEBUG": "0"})

    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_deploy_check_is_clean_with_production_settings():
    result = run_manage(
        "check", "--deploy", "--fail-level", "DEBUG", environment=PRODUCTION_ENVIRONMENT
    )

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_settings_harden_cookies_and_transport():
    code = (
        "from django.conf import settings as s;"
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT,"
        " s.SECURE_HSTS_SECONDS, s.DEBUG)"
    )
    result = run_manage("shell", "--no-imports", "-c", code, environment=PRODUCTION_ENVIRONMENT)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "True", "31536000", "False"]


def test_bad_cache_url_is_refused_with_a_clear_message():
    result = run_manage(
        "check", environment={**PRODUCTION_ENVIRONMENT, "CACHE_URL": "memcache://x"}
    )

    assert result.returncode != 0
    assert "CACHE_URL must start with redis://" in result.stderr


@pytest.mark.parametrize(
    ("environment", "site_url"),
    [
        ({}, "http://127.0.0.1:8000"),
        ({"HOST": "localhost", "PORT": "8771"}, "http://localhost:8771"),
        (
            {"HOST": "localhost", "PORT": "8771", "SITE_URL": "https://news.example.org/"},
            "https://news.example.org",
        ),
    ],
)
def test_site_address_follows_the_address_served_on_unless_set(environment, site_url):
    code = "from django.conf import settings; print(settings.SITE_URL)"
    result = run_manage(
        "shell", "--no-imports", "-c", code, environment={**PRODUCTION_ENVIRONMENT, **environment}
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == site_url


def test_web_server_refuses_to_start_without_a_secret_key_even_with_nothing_set():
    """manage.py's development default for a bare checkout never reaches the web server."""
    result = subprocess.run(
        [sys.executable, "-c", "import newsroom.wsgi"],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_a_production_shell_that_forgot_the_secret_key_is_stopped_not_run_as_development():
    result = run_manage(
        "check", environment={"DATABASE_URL": "postgres://newsroom@127.0.0.1:5432/newsroom"}
    )

    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_commands_with_a_secret_key_run_with_production_settings():
    code = "from django.conf import settings; print(settings.DEBUG, settings.TASKS['default'])"
    result = run_manage("shell", "--no-imports", "-c", code, environment={"SECRET_KEY": "k" * 50})

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("False {'BACKEND': 'django_tasks_db.DatabaseBackend'")
    assert "Development settings" not in result.stderr
