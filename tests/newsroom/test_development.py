"""Newsroom as a newcomer runs it: `make run`'s environment and the README's commands, each in
a fresh process on a temporary SQLite database, as on a laptop with nothing configured."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.factories import SEED, image_bytes

ROOT = Path(__file__).resolve().parents[2]
STORY_PATH = "/2016/12/13/aleppo-residents-tweet-harrowing-goodbyes-as-government-forces-advance/"


@pytest.fixture(scope="module")
def migrated_database(tmp_path_factory):
    """Return an SQLite file with every migration applied, made once for the module."""
    path = tmp_path_factory.mktemp("database") / "newsroom.sqlite3"
    environment = {"DEBUG": "1", "DATABASE_URL": f"sqlite:///{path}"}
    run_manage("migrate", "--noinput", environment=environment, check=True)
    return path


@pytest.fixture
def laptop(migrated_database, tmp_path):
    """Return the environment of a fresh checkout: only its own database and media folder."""
    database = tmp_path / "newsroom.sqlite3"
    shutil.copy(migrated_database, database)
    return {"DATABASE_URL": f"sqlite:///{database}", "MEDIA_ROOT": str(tmp_path / "media")}


def run_manage(*args, environment, check=False):
    """Run `.venv/bin/python manage.py ARGS` with only ``environment`` (plus PATH)."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], **environment},
        capture_output=True,
        text=True,
        timeout=120,
        check=check,
    )


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch(url, timeout=30):
    """Return the body of ``url``, waiting for a server that is still starting."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_make_run_on_another_port_links_to_that_port_everywhere(laptop):
    port = free_port()
    # The environment `make run PORT=...` gives load_demo and runserver (see the Makefile).
    environment = {**laptop, "DEBUG": "1", "TASKS_BACKEND": "immediate",
                   "HOST": "127.0.0.1", "PORT": str(port)}  # fmt: skip
    site = f"http://127.0.0.1:{port}"
    demo = run_manage("load_demo", environment=environment, check=True)
    assert f"Demo story: {site}{STORY_PATH}" in demo.stdout

    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], **environment},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        page = fetch(site + STORY_PATH)
    finally:
        server.terminate()
        server.wait(timeout=10)

    assert f'<link rel="canonical" href="{site}{STORY_PATH}">' in page
    assert f'<meta property="og:url" content="{site}{STORY_PATH}">' in page
    json_ld = re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    story = json.loads(json_ld.group(1))
    assert story["mainEntityOfPage"]["@id"] == site + STORY_PATH
    assert story["publisher"]["url"] == site + "/"
    share_links = re.findall(r'href="([^"]*http%3A%2F%2F[^"]*)"', page)
    assert share_links and all(f"%2F127.0.0.1%3A{port}%2F" in link for link in share_links)
    assert ":8000" not in page and "%3A8000" not in page


def test_the_readme_import_command_works_as_written_in_a_fresh_checkout(laptop, tmp_path):
    story, photo = tmp_path / "aleppo.txt", tmp_path / "aleppo.jpg"
    shutil.copy(SEED, story)
    photo.write_bytes(image_bytes(width=1600, height=900))

    # The README's line, word for word; the environment names only this checkout's database.
    result = subprocess.run(
        [".venv/bin/python", "manage.py", "import_article", str(story), "--publish",
         "--photo", str(photo)],
        cwd=ROOT, env={"PATH": os.environ["PATH"], **laptop},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "Imported 1 story: 1 created, 0 updated." in result.stdout
    assert "Development settings (DEBUG=1" in result.stderr
    code = (
        "from articles.models import Article;"
        "story = Article.objects.published().get(import_key='aleppo');"
        "print(story.headline, '|', story.lead_photo.renditions.count() > 0)"
    )
    check = run_manage("shell", "--no-imports", "-c", code, environment=laptop, check=True)
    assert check.stdout.strip() == (
        "Aleppo residents tweet harrowing goodbyes as government forces advance | True"
    )
