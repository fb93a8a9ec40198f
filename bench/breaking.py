"""The newsroom half of bench/run.py's breaking-news run: change stories, time the front.

    python bench/breaking.py FRONT_URL ARTICLES_FILE --duration 60 --output OUT.json

Run with the bench environment and ``VARNISH_URLS`` pointing at the bench Varnish, so
that each commit purges it as the site's own processes would. Prints ``READY`` once
Django is set up, then waits for a line on stdin before starting the clock, and for the
end of stdin before putting things back. Every
``--edit-every`` seconds it changes the headline of one of the newest stories in
ARTICLES_FILE with the model's ``save()`` inside a revision, as the admin's change form
does, then polls the story's URL through FRONT_URL until the new headline shows. Every
``--publish-every`` seconds (the first halfway through) it writes a new story and
publishes it with ``article_publish``, as an editor's "Save and publish" does, then polls
the home page until the story shows. Times run from the commit. Writes what it did and
the surrogate keys it purged to OUT.json; then puts every headline back and deletes the
stories it published, so the database is as it found it.
"""

import argparse
import gzip
import http.client
import json
import os
import secrets
import signal
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsroom.settings")

import django  # noqa: E402

django.setup()

import reversion  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import transaction  # noqa: E402
from django_tasks_db.models import DBTaskResult  # noqa: E402

from articles.models import Article, ArticleAuthor  # noqa: E402
from articles.services import article_publish  # noqa: E402
from frontcache import purge  # noqa: E402

EDITED_STORIES = 50
POLL_INTERVAL_SECONDS = 0.01
POLL_DEADLINE_SECONDS = 10
NEWSDESK_USERNAME = "bench-newsdesk"
# Sent with the polls, so that bench/run.py can tell them from the readers' requests.
PROBE_HEADER = "X-Bench"


class Front:
    """One keep-alive connection to the front cache, for polling pages."""

    def __init__(self, url):
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        self.connection = None

    def get(self, path):
        for attempt in range(2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=5)
            try:
                # As readers' browsers ask, so that the poll reads the bytes they get
                # (Varnish stores pages gzipped and unzips them for other clients).
                self.connection.request(
                    "GET", path, headers={PROBE_HEADER: "poll", "Accept-Encoding": "gzip"}
                )
                response = self.connection.getresponse()
                body = response.read()
                if response.getheader("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                return response.status, body
            except (OSError, http.client.HTTPException):
                self.connection.close()
                self.connection = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def seconds_until_shown(self, path, text, since):
        """Poll ``path`` until its body contains ``text``; return (seconds after ``since``
        or None when it never showed, how many polls it took)."""
        needle = text.encode()
        deadline = time.perf_counter() + POLL_DEADLINE_SECONDS
        polls = 0
        while time.perf_counter() < deadline:
            status, body = self.get(path)
            polls += 1
            if status == 200 and needle in body:
                return time.perf_counter() - since, polls
            time.sleep(POLL_INTERVAL_SECONDS)
        return None, polls


class Purges:
    """Record the keys every purge of this process names, as ``frontcache.purge`` sends them."""

    def __init__(self):
        self.sent = []
        self.original = purge.purge

    def __enter__(self):
        def recording_purge(keys, *, hard, **options):
            if keys:
                self.sent.append({"keys": sorted(keys), "hard": hard})
            return self.original(keys, hard=hard, **options)

        purge.purge = recording_purge
        return self

    def __exit__(self, *exc_info):
        purge.purge = self.original


def committed_at():
    """Return a dict that gets the time of the commit of the current transaction."""
    marks = {}
    # Registered before the save's own callbacks, so it runs first, right after COMMIT.
    transaction.on_commit(lambda: marks.setdefault("committed", time.perf_counter()))
    return marks


def edit_headline(article, number, editor, front):
    """Change ``article``'s headline as the admin would; return the timings."""
    token = f"update {number} {secrets.token_hex(3)}"
    path = article.get_absolute_url()
    with transaction.atomic():
        marks = committed_at()
        with reversion.create_revision():
            article.headline = f"{article.original_headline}: {token}"
            article.save()
            reversion.set_user(editor)
            reversion.set_comment("Changed Headline.")
    purged = time.perf_counter()
    fresh, polls = front.seconds_until_shown(path, token, marks["committed"])
    return {
        "path": path,
        "commit_to_purged_s": purged - marks["committed"],
        "commit_to_fresh_s": fresh,
        "polls": polls,
    }


def publish_story(source, number, editor, front):
    """Write a new story from ``source``'s text and publish it; return the timings."""
    token = f"breaking {number} {secrets.token_hex(3)}"
    article = Article.objects.create(
        headline=f"{source.headline}: {token}",
        slug=f"bench-breaking-{number}-{secrets.token_hex(4)}",
        dek=source.dek,
        body=source.body,
        section=source.section,
        lead_photo=source.lead_photo,
        story_type=source.story_type,
        created_by=editor,
    )
    article.tags.set(source.tags.all())
    for byline in source.bylines.all():
        ArticleAuthor.objects.create(
            article=article, author_id=byline.author_id, position=byline.position
        )
    with transaction.atomic():
        marks = committed_at()
        article_publish(article=article, user=editor)
    on_home, polls = front.seconds_until_shown("/", token, marks["committed"])
    return article, {
        "path": article.get_absolute_url(),
        "commit_to_home_s": on_home,
        "polls": polls,
    }


def schedule(duration, edit_every, publish_every):
    """Return (seconds from the start, what to do), in order."""
    events = [(edit_every * n, "edit") for n in range(1, int(duration / edit_every) + 1)]
    events += [
        (publish_every * (n + 0.5), "publish")
        for n in range(int(duration / publish_every + 0.5))
        if publish_every * (n + 0.5) < duration
    ]
    return sorted(event for event in events if event[0] < duration)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("front_url")
    parser.add_argument("articles_file")
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--edit-every", type=float, default=5)
    parser.add_argument("--publish-every", type=float, default=30)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    if not settings.VARNISH_URLS:
        raise SystemExit("VARNISH_URLS is empty: the edits would purge nothing.")
    # bench/run.py stops this script with SIGTERM on error; put the stories back first.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    editor, _ = get_user_model().objects.get_or_create(
        username=NEWSDESK_USERNAME,
        defaults={"is_staff": True, "is_superuser": True, "email": "newsdesk@example.com"},
    )
    paths = [line for line in Path(args.articles_file).read_text().splitlines() if line]
    slugs = [path.rstrip("/").rsplit("/", 1)[-1] for path in paths[:EDITED_STORIES]]
    by_slug = Article.objects.published().in_bulk(slugs, field_name="slug")
    stories = [by_slug[slug] for slug in slugs if slug in by_slug]
    for story in stories:
        story.original_headline = story.headline
    sources = list(
        Article.objects.published()
        .filter(import_key__startswith="bench-")
        .select_related("section")
        .order_by("-published_at")[EDITED_STORIES : EDITED_STORIES + 10]
    )
    # Purges queued by earlier runs (their repeats, when no task worker ran) would reach
    # this Varnish with keys of their own once bench/run.py starts the worker.
    DBTaskResult.objects.all().delete()
    front = Front(args.front_url)
    edits, publishes, errors, published = [], [], [], []
    print("READY", flush=True)
    sys.stdin.readline()

    try:
        with Purges() as purges:
            started = time.perf_counter()
            for number, (at, kind) in enumerate(
                schedule(args.duration, args.edit_every, args.publish_every), start=1
            ):
                time.sleep(max(0.0, started + at - time.perf_counter()))
                try:
                    if kind == "edit":
                        story = stories[(number * 7) % len(stories)]
                        edits.append(edit_headline(story, number, editor, front))
                    else:
                        source = sources[len(published) % len(sources)]
                        article, timing = publish_story(source, number, editor, front)
                        published.append(article)
                        publishes.append(timing)
                except Exception as error:  # noqa: BLE001 - reported, and the run goes on
                    errors.append(f"{kind} at {at:g} s: {type(error).__name__}: {error}")
        Path(args.output).write_text(
            json.dumps(
                {"edits": edits, "publishes": publishes, "purges": purges.sent, "errors": errors}
            )
        )
        # Put things back only once the readers have stopped (bench/run.py closes stdin):
        # deleting a story purges hard, and would be measured as misses.
        sys.stdin.readline()
    finally:
        for story in stories:
            if story.headline != story.original_headline:
                story.headline = story.original_headline
                story.save()
        for article in published:
            article.delete()


if __name__ == "__main__":
    main()
