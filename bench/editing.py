"""Measure the story form's heartbeat and autosave requests against /healthz, in one process.

Runs Django in-process with its test client against a dedicated PostgreSQL database
(newsroom_bench_editing, made anew each run) and prints a Markdown table, which it also
writes as the "Working on a story" section of docs/benchmarks.md (after bench/run.py and
bench/newsletter.py have written theirs; `make bench` runs all three). Absolute figures
drift on a small shared machine, so every request is also given as a multiple of /healthz,
measured in the same rounds.

    .venv/bin/python bench/editing.py [--requests 500] [--rounds 5]
"""

import argparse
import os
import random
import statistics
import time
from pathlib import Path
from urllib.parse import urlencode

from in_process import ROOT, prepare_environment, replace_section

DATABASE = "newsroom_bench_editing"
SECTION = "Working on a story"
WARM_UP = 20  # requests of each kind before timing: templates, URL resolvers, the pool
BODY_WORDS = 600  # a story of typical length, as bench/generate_stories.py writes them
COUNTED = 5  # requests of each kind whose SQL queries are counted, apart from the timed ones


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500, help="timed requests of each kind")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds to spread them")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    options = parser.parse_args()
    if options.requests < options.rounds or options.rounds < 1:
        parser.error("--requests must be at least --rounds, and --rounds at least 1")
    prepare_environment(
        DATABASE,
        ALLOWED_HOSTS="testserver",
        STAFF_2FA="off",
        # One process: local memory, not the var/cache files a running site may share.
        CACHE_URL="locmem://",
        STATIC_ROOT=str(ROOT / "var" / "bench" / "editing-static"),
        VARNISH_URLS="",
        CDN_PURGE="",
        LOG_LEVEL="WARNING",
    )

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    # The admin's pages link hashed static files, which DEBUG=0 takes from the manifest.
    call_command("collectstatic", interactive=False, verbosity=0)

    scene = newsroom_scene()
    results = measure(scene, requests=options.requests, rounds=options.rounds)
    table = results_table(results)
    print("\n".join(table))
    write_section(options.output, table, scene, options)


# The newsroom ----------------------------------------------------------------------------


class Scene:
    """An editor with two stories open, one with one colleague present and one with ten."""

    def __init__(self, *, editor_browser, stories, colleagues, form, body):
        self.editor_browser = editor_browser
        self.stories = stories  # {colleagues present: story}
        self.colleagues = colleagues  # {colleagues present: their signed-in browsers}
        self.form = form  # what the change form sends for stories[1]
        self.body = body

    def keep_colleagues_present(self):
        """Send each colleague's heartbeat, as their open forms do every few seconds."""
        for present, browsers in self.colleagues.items():
            for browser in browsers:
                response = browser_post(browser, heartbeat_url(self.stories[present]), "editing=1")
                assert response.status_code == 200, response.content


def newsroom_scene() -> Scene:
    """Return the editor's signed-in browser, their stories and the colleagues on them."""
    import reversion
    from django.test import Client
    from django.utils.html import strip_tags
    from generate_stories import StoryWriter

    from tests.articles.admin_forms import change_url, form_data
    from tests.factories import ArticleFactory, AuthorFactory, TagFactory, UserFactory

    writer = StoryWriter(random.Random(1))
    body = writer.body()
    while abs(len(strip_tags(body).split()) - BODY_WORDS) > BODY_WORDS // 20:
        body = writer.body()
    editor = UserFactory(username="editor", first_name="Amal", last_name="Aziz", role="Editor")
    authors = [AuthorFactory(name="Zeina Haddad"), AuthorFactory(name="Tom Okafor")]
    tags = [TagFactory(), TagFactory(), TagFactory()]
    stories = {}
    for present in (1, 10):
        with reversion.create_revision():
            stories[present] = ArticleFactory(
                headline=writer.headline(),
                dek=writer.dek(),
                body=body,
                authors=authors,
                tags=tags,
            )
            reversion.set_user(editor)

    editor_browser = signed_in(Client(), editor)
    for story in stories.values():
        # The editor opens both stories first, so that they hold the locks.
        response = editor_browser.get(change_url(story))
        assert response.status_code == 200, response.status_code
    colleagues = {
        present: [
            signed_in(
                Client(),
                UserFactory(
                    username=f"colleague-{present}-{number}",
                    first_name=f"Colleague{number}",
                    last_name="Editor",
                    role="Editor",
                ),
            )
            for number in range(present)
        ]
        for present in stories
    }
    form = form_data(stories[1])
    form.pop("_save")  # autosave sends the form's fields, not a button
    scene = Scene(
        editor_browser=editor_browser,
        stories=stories,
        colleagues=colleagues,
        form=form,
        body=body,
    )
    scene.keep_colleagues_present()
    return scene


def browser_post(browser, url, body):
    """Post ``body`` as the story form's script does: form-encoded, asking for JSON."""
    return browser.post(
        url, body, content_type="application/x-www-form-urlencoded", HTTP_ACCEPT="application/json"
    )


def signed_in(browser, user):
    browser.force_login(user)
    return browser


def heartbeat_url(story):
    return f"/admin/articles/article/{story.pk}/heartbeat/"


def autosave_url(story):
    return f"/admin/articles/article/{story.pk}/autosave/"


# Measuring -------------------------------------------------------------------------------


class Kind:
    """One kind of request: how to send it, and how to tell its answer is the right one."""

    def __init__(self, name, send, check):
        self.name = name
        self.send = send
        self.check = check
        self.seconds = []
        self.queries = []


def request_kinds(scene: Scene) -> list[Kind]:
    """Return the requests to measure, /healthz first: every ratio is to it."""
    from tests.articles.admin_forms import change_url

    browser = scene.editor_browser
    autosaves = iter(range(10**9))
    unchanged = urlencode(
        {name: value for name, value in scene.form.items() if name != "headline"}, doseq=True
    )

    def heartbeat(present):
        def send():
            return browser_post(browser, heartbeat_url(scene.stories[present]), "editing=1")

        def check(response):
            state = response.json()
            assert state["holds_lock"] is True, state
            assert len(state["editors"]) == present, state

        return send, check

    def autosave():
        # A new headline each time, as between two pauses in typing.
        headline = urlencode({"headline": f"{scene.form['headline']} ({next(autosaves)})"})
        return browser_post(browser, autosave_url(scene.stories[1]), f"{headline}&{unchanged}")

    def is_json(response):
        assert response["Content-Type"] == "application/json", response["Content-Type"]

    def is_form(response):
        assert b'id="article_form"' in response.content

    return [
        Kind("`GET /healthz` (reference)", lambda: browser.get("/healthz"), is_json),
        Kind("heartbeat, 1 other present", *heartbeat(1)),
        Kind("heartbeat, 10 others present", *heartbeat(10)),
        Kind("autosave of the whole form", autosave, is_json),
        Kind(
            "`GET` the story's change form",
            lambda: browser.get(change_url(scene.stories[1])),
            is_form,
        ),
    ]


def send_checked(kind: Kind) -> float:
    """Send one request of ``kind``, check its answer, and return how long it took."""
    started = time.perf_counter()
    response = kind.send()
    seconds = time.perf_counter() - started
    assert response.status_code == 200, (kind.name, response.status_code, response.content[:300])
    kind.check(response)
    return seconds


def measure(scene: Scene, *, requests: int, rounds: int) -> list[Kind]:
    """Time ``requests`` requests of each kind, in interleaved rounds, and count their queries.

    Interleaving spreads the machine's drift over every kind alike, which keeps the ratios
    to /healthz steady between runs.
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    kinds = request_kinds(scene)
    for kind in kinds:
        for _ in range(WARM_UP):
            send_checked(kind)
        for _ in range(COUNTED):
            with CaptureQueriesContext(connection) as queries:
                send_checked(kind)
            kind.queries.append(len(queries))
    per_round = [requests // rounds + (number < requests % rounds) for number in range(rounds)]
    for count in per_round:
        # Colleagues who stayed silent past EDITING_LOCK_SECONDS would count as gone.
        scene.keep_colleagues_present()
        for kind in kinds:
            kind.seconds += [send_checked(kind) for _ in range(count)]
    return kinds


def results_table(kinds: list[Kind]) -> list[str]:
    # Medians, not rates: one request held up by other work on the machine moves a rate.
    reference = statistics.median(kinds[0].seconds) * 1000
    table = [
        "| request | requests | requests/s | median ms | p95 ms | queries | median vs /healthz |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for kind in kinds:
        rate = len(kind.seconds) / sum(kind.seconds)
        median = statistics.median(kind.seconds) * 1000
        p95 = statistics.quantiles(kind.seconds, n=20, method="inclusive")[18] * 1000
        fewest, most = min(kind.queries), max(kind.queries)
        queries = f"{fewest}" if fewest == most else f"{fewest}–{most}"
        table.append(
            f"| {kind.name} | {len(kind.seconds)} | {rate:,.0f} | {median:.2f} | {p95:.2f} "
            f"| {queries} | {median / reference:.1f}× |"
        )
    return table


# The benchmarks page ---------------------------------------------------------------------


def write_section(path, table, scene: Scene, options):
    """Replace this script's section of the benchmarks page with this run's table."""
    import django
    from django.db import connection
    from django.utils.html import strip_tags

    words = len(strip_tags(scene.body).split())
    version = connection.pg_version
    measured = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    how = " ".join(
        [
            f"Measured by `bench/editing.py` on {measured} with Django {django.get_version()}:",
            "Django's test client in one process, no HTTP server (CSRF checks skipped, signed",
            "in with `force_login`), `DEBUG=0`, cache in local memory, PostgreSQL",
            f"{version // 10000}.{version % 10000} on 127.0.0.1 (database `{DATABASE}`,",
            "made anew). An editor has two published stories open and holds the lock on both;",
            f"each has a {words}-word body ({len(scene.body.encode()):,} bytes of HTML), two",
            "bylines and three tags. On one story 1 colleague is present, on the other 10, each",
            "an Editor signed in with a browser of their own whose heartbeats keep them present.",
            "The heartbeat sends `editing=1`, as the form does while someone edits; the",
            "autosave posts the whole change form as `tests/articles/admin_forms.py` builds it,",
            "form-encoded as the form's script sends it",
            f"({len(urlencode(scene.form, doseq=True)):,} bytes), with a new headline each time;",
            "the change form is the editor's plain `GET` of the story with 1 colleague present.",
            f"Each kind of request is sent {options.requests} times, in {options.rounds}",
            f"interleaved rounds after {WARM_UP} warm-up requests; medians and p95 are per",
            "request and include the test client's own work. Absolute figures drift on this",
            f"{os.cpu_count()}-core machine: compare runs by the last column, the median over",
            "the median of `/healthz` (one `SELECT 1` through the same middleware). Queries",
            f"are counted with `CaptureQueriesContext` on {COUNTED} further requests of each kind.",
        ]
    )
    replace_section(path, SECTION, f"{how}\n\n" + "\n".join(table))


if __name__ == "__main__":
    main()
