"""Benchmark the public site, straight from gunicorn and through Varnish; write docs/benchmarks.md.

    .venv/bin/python bench/run.py                   # 10,000 stories (what `make bench` runs)
    .venv/bin/python bench/run.py --stories 100000  # the size the search target is set for
    .venv/bin/python bench/run.py --reuse           # keep newsroom_bench if it has the data

Works on its own PostgreSQL database, ``newsroom_bench`` (created, or dropped and
re-created, and never any other), and on Redis database 15 (flushed, and never any
other). It generates stories with bench/generate_stories.py, starts gunicorn with
two workers and ``DEBUG`` off, and loads the pages from a separate process: wrk with
bench/paths.lua when it is installed, else bench/load.py. Three setups are measured:

- **uncached**: gunicorn alone; every request renders.
- **front cache**: varnishd with the shipped VCL (deploy/varnish/newsroom.vcl) in front of
  the same gunicorn, its cache warmed first; beside it, in the same minute and with the
  same load, nginx serving a saved copy of one article page as a file: the static ceiling.
- **breaking news**: readers through Varnish while bench/breaking.py edits a story every
  few seconds and publishes a new one now and then, its saves purging the bench Varnish,
  and times how soon each change shows at the front.

Query counts come from Django's test client in a separate process (bench/queries.py).
Every process the run starts is stopped by its PID, on error and on SIGTERM too. Nothing
is asserted: the figures are reported against the targets in docs/benchmarks.md and on
the terminal.
"""

import argparse
import gzip
import hashlib
import json
import os
import platform
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import ExitStack
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from urllib.parse import quote

import psycopg
import redis
from psycopg import sql
from services import HOST, Gunicorn, Nginx, TaskWorker, Varnish, VarnishHealth, VarnishLog

BASE_DIR = Path(__file__).resolve().parent.parent
BENCH_DIR = BASE_DIR / "bench"
WORK_DIR = BASE_DIR / "var" / "bench"
SHIPPED_VCL = BASE_DIR / "deploy" / "varnish" / "newsroom.vcl"

POSTGRES = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
DATABASE = "newsroom_bench"
REDIS_DB = 15
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
WORKERS = 2
WARM_UP_SECONDS = 2
REQUEST_TIMEOUT_SECONDS = 10
# Warming the front renders every page once; more connections than workers would only
# queue, and would keep Varnish's health probe waiting behind the renders.
PRIME_CONNECTIONS = 2 * WORKERS
PRIME_SECONDS = 90
VARNISH_STORAGE = "malloc,256m"
# In the breaking-news run, one request in this many is for the home page.
HOME_EVERY = 10
# The readers of the breaking-news run are paced: unpaced, wrk and Varnish take both cores
# (the readers would be on other machines in production) and the renders a purge sets off
# wait for CPU behind them, which measures the load generator rather than the purges.
# 5,000 requests/s is a large news site's peak, a fifth of what Varnish serves here.
BREAKING_RATE = 5000

# Searches a reader might type: a common word, several words, a phrase, an exclusion
# and a rare word. The generator's vocabulary (bench/generate_stories.py) has them all.
SEARCHES = ["council", "hospital waiting times", '"city council"', "flood -insurance", "lighthouse"]
STATIC_PAGES = {
    "home": ["/"],
    "search": [f"/search/?q={quote(query)}" for query in SEARCHES],
    "feed": ["/feeds/latest/"],
}
UNCACHED_PAGES = ["home", "article", "section", "search", "feed"]
# The VCL passes /search/ to gunicorn, so search is measured uncached only.
FRONT_PAGES = ["home", "article", "section", "feed"]
# The sections of docs/benchmarks.md this script writes; it keeps any others.
OWN_SECTIONS = (
    "How to run", "How it measures", "Machine", "Results", "Against the targets",
    "Breaking news", "Where the SQL time goes", "Server errors",
)  # fmt: skip

# The uncached figures of the run before the page work (docs/benchmarks.md of 2026-11-26,
# this machine, 8 connections on 2 workers, Django's page cache off), in requests/s.
PREVIOUS_UNCACHED_RPS = {"home": 28, "article": 30, "feed": 23}
TARGET_UNCACHED_SPEEDUP = 3
TARGET_ARTICLE_P50_MS = 15
TARGET_SEARCH_P95_MS = 50
TARGET_SEARCH_STORIES = 100_000
TARGET_STATIC_SHARE = 0.5
TARGET_UNCHANGED_HIT_RATIO = 0.99
TARGET_FRESH_SECONDS = 1.0
# Above this share of CPU busy with other work before a measurement, the report warns.
BUSY_MACHINE_SHARE = 0.15


def main():
    args = parse_arguments()
    # A SIGTERM (make interrupted, CI timeout) unwinds through the finally blocks too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    vcl = Path(args.vcl).resolve()
    if not vcl.exists():
        raise SystemExit(f"No VCL at {vcl}: the front-cache runs need it (see --vcl).")
    for program in ("varnishd", "varnishstat", "varnishncsa", "varnishlog", "nginx"):
        if not shutil.which(program):
            raise SystemExit(f"{program} is not installed (apt install varnish nginx).")
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    environment = bench_environment()

    step(f"Database {DATABASE}")
    prepare_database(reuse=args.reuse)
    manage(environment, "migrate", "--noinput", "--verbosity", "0")
    existing = generated_story_count()
    if args.reuse and existing == args.stories:
        print(f"Reusing the {existing} generated stories already in {DATABASE}.")
    else:
        step(f"Generating {args.stories} stories")
        reset = ["--reset"] if existing else []
        subprocess.run(
            [
                sys.executable, str(BENCH_DIR / "generate_stories.py"),
                "--stories", str(args.stories), "--seed", "1", *reset,
            ],
            cwd=BASE_DIR,
            env=environment,
            check=True,
        )  # fmt: skip
    vacuum_analyze()
    manage(environment, "collectstatic", "--noinput", "--verbosity", "0")

    pages_dir = WORK_DIR / "pages"
    shutil.rmtree(pages_dir, ignore_errors=True)
    pages_dir.mkdir()
    for page, paths in STATIC_PAGES.items():
        write_paths(pages_dir / f"{page}.txt", paths)
    reachable = bench_script(environment, "queries.py", "paths", str(pages_dir))

    step("Query counts")
    flush_cache()
    query_counts = bench_script(environment, "queries.py", "count", str(pages_dir))

    tool = "wrk" if shutil.which("wrk") and not args.python_load else "python"
    bench = Bench(tool=tool, args=args)
    bench.busy["uncached"] = cpu_busy_share()
    step(f"Uncached, with {bench.tool} (CPU busy with other work: {bench.busy['uncached']:.0%})")
    flush_cache()
    with Gunicorn(environment, WORK_DIR / "gunicorn-uncached.log", workers=WORKERS) as server:
        for page in UNCACHED_PAGES:
            bench.measure(page, "uncached", server.url, pages_dir / f"{page}.txt", args.connections)
        bench.server_errors += server.error_lines()

    flush_cache()
    bench.busy["front cache"] = cpu_busy_share()
    step(f"Front cache (CPU busy with other work: {bench.busy['front cache']:.0%})")
    with ExitStack() as stack:
        server = stack.enter_context(
            Gunicorn(environment, WORK_DIR / "gunicorn-front.log", workers=WORKERS)
        )
        front = stack.enter_context(Varnish(vcl, server.port, WORK_DIR, storage=VARNISH_STORAGE))
        # Its saves purge this Varnish, as the site's own processes would (bench/breaking.py).
        newsroom_environment = {**environment, "VARNISH_URLS": front.url}
        # The keys each page was stored with; the logger stops before the timed runs, as
        # reading Varnish's log costs CPU for every request.
        warm_up_log = WORK_DIR / "fetched-warm-up.log"
        with VarnishLog(front, BACKEND_LOG_FORMAT, warm_up_log, backend=True) as fetched:
            warmed = warm_front(front.url, pages_dir)
        page_keys = read_fetched_keys(fetched.lines())
        page_copy = save_article_copy(front.url, warmed["article"])
        bench.describe_front(vcl=vcl, warmed=warmed, page_copy=page_copy)
        connections = args.front_connections
        # The ceiling and the article through Varnish right after each other, twice, so
        # that a burst of other work on the machine does not decide the ratio alone.
        with Nginx(page_copy, WORK_DIR / "nginx") as static:
            for again in (False, True):
                bench.measure(
                    "article", "static file", static.url, warmed["article"], connections,
                    single=not again,
                )  # fmt: skip
                bench.measure(
                    "article", "front cache", front.url, warmed["article"], connections, front,
                    single=not again,
                )  # fmt: skip
        for page in FRONT_PAGES:
            if page != "article":
                bench.measure(page, "front cache", front.url, warmed[page], connections, front)

        bench.busy["breaking news"] = cpu_busy_share()
        step(
            f"Breaking news, {args.breaking_duration} s "
            f"(CPU busy with other work: {bench.busy['breaking news']:.0%})"
        )
        breaking = breaking_news(
            front, newsroom_environment, warmed["article"], pages_dir, page_keys, bench=bench
        )
        bench.server_errors += server.error_lines()
    flush_cache()

    report = Report(
        bench=bench,
        breaking=breaking,
        query_counts=query_counts,
        reachable=reachable,
        machine=machine(),
        minutes=(time.monotonic() - started) / 60,
    )
    output = BASE_DIR / args.output
    existing = output.read_text() if output.exists() else ""
    output.write_text(report.markdown() + "".join(other_sections(existing)))
    print()
    print(report.table())
    print()
    print("\n".join(report.breaking_lines()))
    print()
    print("\n".join(report.verdicts()))
    print(f"\nWrote {output}.")


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=10_000, help="Stories to generate.")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help=f"Keep {DATABASE} and its stories if it already has --stories of them.",
    )
    parser.add_argument("--duration", type=int, default=10, help="Seconds of load per run.")
    parser.add_argument(
        "--single-duration", type=int, default=5, help="Seconds of the one-connection run."
    )
    parser.add_argument("--threads", type=int, default=2, help="wrk threads.")
    parser.add_argument(
        "--connections", type=int, default=8, help="Concurrent connections, uncached."
    )
    parser.add_argument(
        "--front-connections",
        type=int,
        default=16,
        help="Concurrent connections through Varnish, to nginx and in the breaking-news run.",
    )
    parser.add_argument(
        "--breaking-duration", type=int, default=60, help="Seconds of the breaking-news run."
    )
    parser.add_argument(
        "--breaking-rate",
        type=int,
        default=BREAKING_RATE,
        help="Requests/s the breaking-news readers send at most; 0 for as fast as they can.",
    )
    parser.add_argument(
        "--edit-every", type=float, default=5, help="Seconds between headline edits."
    )
    parser.add_argument(
        "--publish-every", type=float, default=30, help="Seconds between new stories."
    )
    parser.add_argument(
        "--vcl",
        default=str(SHIPPED_VCL),
        help="The VCL varnishd loads; it includes the backend.vcl this script writes.",
    )
    parser.add_argument(
        "--python-load", action="store_true", help="Use bench/load.py even if wrk is installed."
    )
    parser.add_argument("--output", default="docs/benchmarks.md", help="Report to write.")
    return parser.parse_args()


def step(message):
    print(f"\n== {message}", flush=True)


def read_paths(path):
    return [line for line in path.read_text().splitlines() if line]


def write_paths(path, paths):
    path.write_text("".join(f"{line}\n" for line in paths))
    return path


# Environment and processes -------------------------------------------------------------


def bench_environment():
    """Return the environment of every process of the run: production settings, bench data."""
    database_url = "postgres://{user}@{host}:{port}/".format(**POSTGRES) + DATABASE
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "newsroom.settings",
        "DEBUG": "0",
        # For this run only, and never written down.
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": HOST,
        "SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": database_url,
        "CACHE_URL": REDIS_URL,
        "CACHE_KEY_PREFIX": "newsroom-bench",
        "MEDIA_ROOT": str(WORK_DIR / "media"),
        "STATIC_ROOT": str(WORK_DIR / "static"),
        "SITE_URL": f"http://{HOST}",
        "TASKS_BACKEND": "database",
        # Only the bench Varnish, and only where the run sets it.
        "VARNISH_URLS": "",
        "CDN_PURGE": "",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }


def manage(environment, *arguments):
    subprocess.run(
        [sys.executable, "manage.py", *arguments], cwd=BASE_DIR, env=environment, check=True
    )


def bench_script(environment, script, *arguments):
    """Run a script of bench/ and return the JSON it prints."""
    completed = subprocess.run(
        [sys.executable, str(BENCH_DIR / script), *arguments],
        cwd=BASE_DIR,
        env=environment,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


# PostgreSQL and Redis ------------------------------------------------------------------


def prepare_database(*, reuse):
    """Create newsroom_bench, or drop and re-create it unless ``reuse``."""
    with psycopg.connect(dbname="postgres", autocommit=True, **POSTGRES) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]
        ).fetchone()
        name = sql.Identifier(DATABASE)
        if exists and reuse:
            return
        if exists:
            connection.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(name))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(name))
    shutil.rmtree(WORK_DIR / "media", ignore_errors=True)


def generated_story_count():
    with psycopg.connect(dbname=DATABASE, **POSTGRES) as connection:
        return connection.execute(
            "SELECT count(*) FROM articles_article WHERE import_key LIKE %s", ["bench-%"]
        ).fetchone()[0]


def vacuum_analyze():
    """Give the planner fresh statistics, as autovacuum soon would after a bulk load."""
    with psycopg.connect(dbname=DATABASE, autocommit=True, **POSTGRES) as connection:
        connection.execute("VACUUM (ANALYZE)")


def flush_cache():
    redis.Redis.from_url(REDIS_URL).flushdb()


# Load ----------------------------------------------------------------------------------


class Bench:
    """The load runs of the whole benchmark in the order they ran, and what they ran on."""

    def __init__(self, *, tool, args):
        self.tool = tool
        self.args = args
        self.results = []
        self.busy = {}
        self.front = {}
        self.server_errors = []

    def measure(self, page, mode, url, paths_file, connections, front=None, *, single=True):
        """Load ``page`` under ``connections``, then (``single``) on one; keep the result."""
        args = self.args
        load(self.tool, url, paths_file, WARM_UP_SECONDS, args.threads, connections)
        before = front.counters() if front else None
        loaded = load(self.tool, url, paths_file, args.duration, args.threads, connections)
        varnish = counter_change(before, front.counters()) if front else None
        if single:
            single = load(self.tool, url, paths_file, args.single_duration, 1, 1)
        result = {
            "page": page,
            "mode": mode,
            "paths": len(read_paths(paths_file)),
            "connections": connections,
            "load": loaded,
            "single": single,
            "varnish": varnish,
        }
        self.results.append(result)
        hits = cache_share(loaded)
        print(
            f"{page:8} {mode:12} {requests_per_second(loaded):9.1f} req/s  "
            f"p50 {loaded['p50_ms']:.1f} ms  p99 {loaded['p99_ms']:.1f} ms  "
            + (f"(one connection: p50 {single['p50_ms']:.1f} ms)" if single else "")
            + (f"  hits {hits:.1%}" if hits is not None else ""),
            flush=True,
        )
        return result

    def describe_front(self, *, vcl, warmed, page_copy):
        compressed = page_copy.with_suffix(".html.gz")
        self.front = {
            "varnish": Varnish.version(),
            "nginx": Nginx.version(),
            "vcl": vcl,
            "vcl_sha": hashlib.sha256(vcl.read_bytes()).hexdigest()[:12],
            "warmed": {page: len(read_paths(path)) for page, path in warmed.items()},
            "page_copy_bytes": page_copy.stat().st_size,
            "page_copy_gzip_bytes": compressed.stat().st_size if compressed.exists() else None,
        }

    def best(self, page, mode):
        """Return the result of ``page`` in ``mode`` with the highest throughput, or None."""
        results = [r for r in self.results if r["page"] == page and r["mode"] == mode]
        return max(results, key=lambda r: requests_per_second(r["load"]), default=None)


def load(tool, url, paths_file, duration, threads, connections, pause_ms=0):
    """Return the results of one load run as the dict bench/paths.lua prints.

    With ``pause_ms``, each connection waits that long before each request, which caps
    the rate at about connections × 1000 / pause_ms requests a second.
    """
    if tool == "wrk":
        command = [
            "wrk", f"-t{min(threads, connections)}", f"-c{connections}", f"-d{duration}s",
            "--timeout", f"{REQUEST_TIMEOUT_SECONDS}s", "-s", str(BENCH_DIR / "paths.lua"),
            url, "--", str(paths_file),
        ]  # fmt: skip
    else:
        command = [
            sys.executable, str(BENCH_DIR / "load.py"), "run", url, str(paths_file),
            "--connections", str(connections), "--duration", str(duration),
            "--pause-ms", str(pause_ms),
        ]  # fmt: skip
    completed = subprocess.run(
        command,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
        timeout=duration + 60,
        env={**os.environ, "BENCH_PAUSE_MS": str(pause_ms)},
    )
    for line in completed.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            return json.loads(line.removeprefix("BENCH_JSON "))
    raise RuntimeError(f"No results from {command[0]}:\n{completed.stdout}")


def requests_per_second(run):
    return run["requests"] / run["duration_s"] if run["duration_s"] else 0.0


def cache_share(run):
    """Return the share of answers marked as cache hits (X-Cache), or None if none was marked."""
    looked_up = run["hits"] + run["misses"] + run.get("passes", 0)
    return run["hits"] / looked_up if looked_up else None


def counter_change(before, after):
    return {name: after[name] - before.get(name, 0) for name in after}


def warm_front(url, pages_dir):
    """Fetch every page of the front-cache runs once through Varnish; return their path files.

    For articles that is the 1,000 newest stories, those that answered 200 within
    PRIME_SECONDS (rendering each once through two workers).
    """
    warmed = {}
    for page in FRONT_PAGES:
        source = pages_dir / ("article-hot.txt" if page == "article" else f"{page}.txt")
        target = pages_dir / f"{page}-front.txt"
        subprocess.run(
            [
                sys.executable,
                str(BENCH_DIR / "load.py"),
                "prime",
                url,
                str(source),
                "--connections",
                str(PRIME_CONNECTIONS),
                "--budget",
                str(PRIME_SECONDS),
                "--output",
                str(target),
            ],  # fmt: skip
            check=True,
            stdout=subprocess.DEVNULL,
        )
        if not read_paths(target):
            raise RuntimeError(f"No {page} page answered 200 through Varnish; see var/bench/.")
        warmed[page] = target
    print(
        "Warmed through Varnish: "
        + ", ".join(f"{page} {len(read_paths(path)):,}" for page, path in warmed.items()),
        flush=True,
    )
    return warmed


def save_article_copy(url, articles_file, sample=25):
    """Save one article page as Varnish sends it to a browser, of median size among the
    first ``sample``; return the file (with a .gz beside it when Varnish sent gzip)."""
    pages = []
    for path in read_paths(articles_file)[:sample]:
        request = urllib.request.Request(url + path, headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_SECONDS) as response:
            body = response.read()
            gzipped = response.headers.get("Content-Encoding") == "gzip"
        plain = gzip.decompress(body) if gzipped else body
        pages.append((len(plain), path, plain, body if gzipped else None))
    pages.sort(key=lambda page: page[0])
    size, path, plain, gzipped = pages[len(pages) // 2]
    copy = WORK_DIR / "article-copy.html"
    copy.write_bytes(plain)
    compressed = copy.with_suffix(".html.gz")
    compressed.unlink(missing_ok=True)
    if gzipped is not None:
        compressed.write_bytes(gzipped)
    print(
        f"Static ceiling: a copy of {path} ({size:,} bytes"
        + (f", {len(gzipped):,} gzipped" if gzipped is not None else "")
        + ").",
        flush=True,
    )
    return copy


# The breaking-news run -----------------------------------------------------------------

# What Varnish fetched from gunicorn (URL, status, surrogate keys), and what it answered
# readers: %{Varnish:handling}x is hit, miss, pass or synth (a PURGE), X-Cache what the
# VCL says it did, X-Bench marks bench/breaking.py's own polls, %D the microseconds taken.
BACKEND_LOG_FORMAT = r"%U%q\t%s\t%{xkey}o"
CLIENT_LOG_FORMAT = r"%m\t%U%q\t%s\t%{Varnish:handling}x\t%{X-Cache}o\t%{X-Bench}i\t%D"


def breaking_news(front, environment, articles_file, pages_dir, page_keys, *, bench):
    """Load articles and the home page through Varnish while the newsroom changes stories."""
    args = bench.args
    articles = read_paths(articles_file)
    home_share = max(1, len(articles) // (HOME_EVERY - 1))
    paths_file = write_paths(pages_dir / "breaking.txt", articles + ["/"] * home_share)
    output = WORK_DIR / "breaking.json"
    output.unlink(missing_ok=True)
    newsroom_command = [
        sys.executable, str(BENCH_DIR / "breaking.py"), front.url, str(articles_file),
        "--duration", str(args.breaking_duration), "--edit-every", str(args.edit_every),
        "--publish-every", str(args.publish_every), "--output", str(output),
    ]  # fmt: skip
    pause = pause_ms(args)
    with ExitStack() as stack:
        newsroom = stack.enter_context(
            subprocess.Popen(
                newsroom_command,
                cwd=BASE_DIR,
                env=environment,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
        )
        stack.callback(stop_process, newsroom)
        if newsroom.stdout.readline().strip() != "READY":
            raise RuntimeError("bench/breaking.py did not start; see its output above.")
        # It sends each purge again a moment later, as in production.
        stack.enter_context(TaskWorker(environment, WORK_DIR / "db-worker-breaking.log"))
        answered = stack.enter_context(
            VarnishLog(front, CLIENT_LOG_FORMAT, WORK_DIR / "answered-breaking.log")
        )
        fetched = stack.enter_context(
            VarnishLog(front, BACKEND_LOG_FORMAT, WORK_DIR / "fetched-breaking.log", backend=True)
        )
        health = stack.enter_context(VarnishHealth(front, WORK_DIR / "health-breaking.log"))
        before = front.counters()
        newsroom.stdin.write("GO\n")
        newsroom.stdin.flush()
        loaded = load(
            bench.tool, front.url, paths_file, args.breaking_duration, args.threads,
            args.front_connections, pause_ms=pause,
        )  # fmt: skip
        loaded["varnish"] = counter_change(before, front.counters())
        for logger in (answered, fetched, health):
            logger.stop()
        # Readers gone: the newsroom may now put its stories back.
        newsroom.stdin.close()
        if newsroom.wait(timeout=120) != 0:
            raise RuntimeError("bench/breaking.py failed; see its output above.")
    print(
        f"breaking news {requests_per_second(loaded):9.1f} req/s  p50 {loaded['p50_ms']:.1f} ms"
        f"  p99 {loaded['p99_ms']:.1f} ms",
        flush=True,
    )
    for path, keys in read_fetched_keys(fetched.lines()).items():
        page_keys.setdefault(path, set()).update(keys)
    return BreakingNews(
        load=loaded,
        newsroom=json.loads(output.read_text()),
        answered=read_answers(answered.lines()),
        page_keys=page_keys,
        article_paths=set(articles),
        health=health.sickness(),
        pause_ms=pause,
    )


def pause_ms(args):
    """Return the pause per request and connection that paces the breaking-news readers."""
    if not args.breaking_rate:
        return 0
    return max(1, round(args.front_connections * 1000 / args.breaking_rate))


def stop_process(process):
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def read_fetched_keys(lines):
    """Return {path: surrogate keys} over the fetches from gunicorn in ``lines``."""
    keys = {}
    for line in lines:
        fields = line.split("\t")
        if len(fields) >= 3:
            keys.setdefault(fields[0], set()).update(k for k in fields[2].split() if k != "-")
    return keys


def read_answers(lines):
    """Return one dict per answer Varnish logged, with whether it was a cache hit."""
    answers = []
    for line in lines:
        fields = line.split("\t")
        if len(fields) < 7:
            continue
        method, path, status, handling, x_cache, probe, microseconds = fields[:7]
        x_cache = "" if x_cache == "-" else x_cache
        answers.append(
            {
                "method": method,
                "path": path,
                "status": status,
                "handling": handling,
                "x_cache": x_cache,
                "probe": probe not in ("", "-"),
                # What the VCL's X-Cache says; without one, Varnish's own record.
                "hit": x_cache.lower().startswith("hit") if x_cache else handling == "hit",
                "ms": int(microseconds) / 1000 if microseconds.isdigit() else 0.0,
            }
        )
    return answers


class BreakingNews:
    """What the breaking-news run measured: the readers' load, the newsroom's changes and
    timings, and Varnish's record of every answer."""

    def __init__(self, *, load, newsroom, answered, page_keys, article_paths, health, pause_ms):
        self.load = load
        self.newsroom = newsroom
        self.health = health
        self.pause_ms = pause_ms
        self.figures = self.count(answered, page_keys, article_paths)

    def count(self, answered, page_keys, article_paths):
        """Count hits per group of URLs: article URLs a purge touched, the others, home.

        An article URL is *touched* when a purge named one of the surrogate keys it was
        fetched with (its own story edited, or a story it shows); the others should only
        ever be hits.
        """
        purged = {key for purge in self.newsroom["purges"] for key in purge["keys"]}
        edited = {edit["path"] for edit in self.newsroom["edits"]}
        touched = {
            path for path in article_paths if path in edited or page_keys.get(path, set()) & purged
        }
        counts = {group: {"hit": 0, "other": 0} for group in ("untouched", "touched", "home")}
        misses, purge_answers = {}, {}
        for answer in answered:
            if answer["method"] == "PURGE":
                status = answer["status"]
                purge_answers[status] = purge_answers.get(status, 0) + 1
                continue
            if answer["probe"] or answer["method"] != "GET":
                continue
            path = answer["path"]
            if path == "/":
                group = "home"
            elif path in article_paths:
                group = "touched" if path in touched else "untouched"
            else:
                continue
            counts[group]["hit" if answer["hit"] else "other"] += 1
            if group == "untouched" and not answer["hit"]:
                key = (answer["handling"], answer["x_cache"], answer["status"])
                misses[key] = misses.get(key, 0) + 1
        return {
            "counts": counts,
            "touched_urls": len(touched),
            "article_urls": len(article_paths),
            "purged_keys": len(purged),
            "untouched_misses": [
                {"handling": h, "x_cache": x, "status": s, "requests": n}
                for (h, x, s), n in sorted(misses.items(), key=lambda item: -item[1])
            ],
            "purge_answers": purge_answers,
            "slow_answers": sum(1 for a in answered if not a["probe"] and a["ms"] > 100),
        }

    def hit_ratio(self, group):
        counts = self.figures["counts"][group]
        total = counts["hit"] + counts["other"]
        return counts["hit"] / total if total else None

    def delays(self, kind, field):
        """Return the sorted delays (s) of ``kind`` changes, and how many never showed."""
        values = [change[field] for change in self.newsroom[kind]]
        return sorted(v for v in values if v is not None), sum(v is None for v in values)


# The machine ---------------------------------------------------------------------------


def cpu_busy_share(seconds=2):
    """Return the share of CPU time spent busy over ``seconds`` while none of ours runs.

    Other processes on the machine take cores from gunicorn and the load generator; the
    report says so rather than leave a slow figure unexplained.
    """

    def sample():
        fields = [int(value) for value in Path("/proc/stat").read_text().split()[1:9]]
        idle = fields[3] + fields[4]  # idle + iowait
        return idle, sum(fields)

    idle_before, total_before = sample()
    time.sleep(seconds)
    idle_after, total_after = sample()
    elapsed = total_after - total_before
    return 1 - (idle_after - idle_before) / elapsed if elapsed else 0.0


def machine():
    cpu_model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu_model = line.partition(":")[2].strip()
            break
    memory_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    with psycopg.connect(dbname=DATABASE, **POSTGRES) as connection:
        postgres_version = connection.execute("SHOW server_version").fetchone()[0]
    wrk_version = ""
    if shutil.which("wrk"):
        wrk_banner = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
        wrk_version = (wrk_banner.stdout + wrk_banner.stderr).split("[")[0].strip()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_model,
        "cores": os.cpu_count(),
        "ram_gb": round(memory_kb / 1024 / 1024, 1),
        "os": f"{platform.system()} {platform.release()}",
        "postgres": postgres_version,
        "redis": redis.Redis.from_url(REDIS_URL).info("server")["redis_version"],
        "python": platform.python_version(),
        "django": version("django"),
        "gunicorn": version("gunicorn"),
        "psycopg": version("psycopg"),
        "wrk": wrk_version or "not installed",
    }


# The report ----------------------------------------------------------------------------


class Report:
    """docs/benchmarks.md, and the summary on the terminal, from what the run measured."""

    def __init__(self, *, bench, breaking, query_counts, reachable, machine, minutes):
        self.bench = bench
        self.args = bench.args
        self.tool = bench.tool
        self.results = bench.results
        self.breaking = breaking
        self.query_counts = query_counts
        self.reachable = reachable
        self.machine = {**machine, **bench.front, "background": bench.busy}
        self.minutes = minutes

    def requests_counted(self, page):
        return self.query_counts["requests"].get(page, [])

    def queries_cell(self, result):
        if result["mode"] == "uncached":
            return count_range(r["queries"] for r in self.requests_counted(result["page"]))
        return "–"

    def gunicorn_cell(self, result):
        """Return how many requests of the loaded run reached gunicorn."""
        if result["mode"] == "uncached":
            return "all"
        if result["varnish"] is None:
            return "–"
        return f"{result['varnish'].get('MAIN.backend_req', 0):,}"

    def errors_cell(self, result):
        loaded, single = result["load"], result["single"] or EMPTY_RUN
        problems = []
        server_errors = loaded["status_5xx"] + single["status_5xx"]
        if server_errors:
            problems.append(f"**{server_errors} × 5xx**")
        not_found = loaded["status_4xx"] + single["status_4xx"]
        if not_found:
            problems.append(f"{not_found} × 4xx")
        timeouts = loaded["timeouts"] + single["timeouts"]
        if timeouts:
            problems.append(f"{timeouts} unanswered within {REQUEST_TIMEOUT_SECONDS} s")
        socket_errors = loaded["socket_errors"] + single["socket_errors"]
        if socket_errors:
            problems.append(f"{socket_errors} socket errors")
        if result["mode"] == "uncached":
            in_process = [r for r in self.requests_counted(result["page"]) if r["error"]]
            if in_process:
                problems.append(f"**error in process: {in_process[0]['error'][:120]}**")
        return "; ".join(problems) or "none"

    def is_error(self, result):
        return self.errors_cell(result).startswith("**")

    def mode_cell(self, result):
        share = cache_share(result["load"])
        if result["mode"] == "front cache" and share is not None:
            return f"front cache ({percent(share)} hits)"
        return result["mode"]

    def rows(self):
        rows = []
        for number, result in enumerate(self.results):
            loaded, single = result["load"], result["single"] or EMPTY_RUN
            page = result["page"]
            if result["mode"] == "static file":
                page = "article, saved copy"
            elif result["paths"] > 1:
                page = f"{page} ({result['paths']:,} URLs)"
            if any(
                (r["page"], r["mode"]) == (result["page"], result["mode"])
                for r in self.results[:number]
            ):
                page += ", again"
            rows.append(
                [
                    page,
                    self.mode_cell(result),
                    str(result["connections"]),
                    "error" if self.is_error(result) else f"{requests_per_second(loaded):,.0f}",
                    milliseconds(loaded, "p50_ms"),
                    milliseconds(loaded, "p95_ms"),
                    milliseconds(loaded, "p99_ms"),
                    milliseconds(single, "p50_ms"),
                    self.queries_cell(result),
                    self.gunicorn_cell(result),
                    self.errors_cell(result),
                ]
            )
        return rows

    def table(self):
        header = [
            "page", "mode", "connections", "requests/s", "p50 ms", "p95 ms", "p99 ms",
            "p50 ms, 1 connection", "queries", "to gunicorn", "errors",
        ]  # fmt: skip
        lines = [
            "| " + " | ".join(header) + " |",
            "|" + "|".join("---" if i < 2 else "---:" for i in range(len(header) - 1)) + "|---|",
        ]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows()]
        return "\n".join(lines)

    def static_rps(self):
        static = self.bench.best("article", "static file")
        return requests_per_second(static["load"]) if static else 0.0

    def ceiling_lines(self):
        """Return one line per front-cache page: its throughput against the static ceiling."""
        ceiling = self.static_rps()
        lines = []
        for page in FRONT_PAGES:
            result = self.bench.best(page, "front cache")
            if result is None or not ceiling:
                continue
            share = requests_per_second(result["load"]) / ceiling
            lines.append(f"| {page} | {requests_per_second(result['load']):,.0f} | {share:.0%} |")
        return [
            "| page through Varnish | requests/s | share of the static ceiling |",
            "|---|---:|---:|",
            *lines,
        ]

    def breaking_lines(self):
        breaking = self.breaking
        loaded = breaking.load
        figures = breaking.figures
        newsroom = breaking.newsroom
        counts = figures["counts"]
        health = breaking.health
        fresh, fresh_missing = breaking.delays("edits", "commit_to_fresh_s")
        purged, _ = breaking.delays("edits", "commit_to_purged_s")
        on_home, on_home_missing = breaking.delays("publishes", "commit_to_home_s")
        offered = (
            f"paced at most {self.args.breaking_rate:,}/s ({breaking.pause_ms} ms between "
            "requests on each connection)"
            if breaking.pause_ms
            else "unpaced"
        )
        rows = [
            ("readers", f"{self.args.front_connections} connections, {offered}"),
            ("throughput", f"{requests_per_second(loaded):,.0f} requests/s"),
            ("latency p50 / p99", f"{loaded['p50_ms']:.1f} ms / {loaded['p99_ms']:.1f} ms"),
            (
                "answers",
                f"{loaded['status_2xx']:,} × 2xx, {loaded['status_4xx']:,} × 4xx, "
                f"{loaded['status_5xx']:,} × 5xx, "
                f"{loaded['timeouts'] + loaded['socket_errors']:,} timeouts or socket errors; "
                f"{figures['slow_answers']:,} took Varnish over 100 ms",
            ),
            (
                "changes",
                f"{len(newsroom['edits'])} headline edits, {len(newsroom['publishes'])} new "
                f"stories; {len(newsroom['purges'])} purges naming {figures['purged_keys']} "
                "keys, each sent again by the task worker (Varnish answered "
                f"{answer_counts(figures['purge_answers'])} to PURGE)",
            ),
            (
                "article URLs a purge touched",
                f"{figures['touched_urls']:,} of {figures['article_urls']:,}; hits on them "
                f"{ratio_cell(breaking.hit_ratio('touched'), counts['touched'])} (a stale copy "
                "while the fresh one renders is a hit)",
            ),
            (
                "**hit ratio, article URLs no purge touched**",
                ratio_cell(breaking.hit_ratio("untouched"), counts["untouched"]),
            ),
            ("hit ratio, home page", ratio_cell(breaking.hit_ratio("home"), counts["home"])),
            (
                "**commit → new headline at the front**",
                delay_cell(fresh, fresh_missing) + f", over {len(newsroom['edits'])} edits",
            ),
            ("commit → purges answered", delay_cell(purged, 0)),
            (
                "commit → new story on the home page",
                delay_cell(on_home, on_home_missing)
                + f", over {len(newsroom['publishes'])} stories",
            ),
            (
                "fetches from gunicorn",
                f"{loaded['varnish'].get('MAIN.backend_req', 0):,}; health probes "
                f"{health['probes'] - health['sick']} healthy, {health['sick']} sick",
            ),
        ]
        lines = ["| measure | this run |", "|---|---|"]
        lines += [f"| {name} | {value} |" for name, value in rows]
        if figures["untouched_misses"]:
            lines += [
                "",
                "Requests for article URLs no purge touched that were not cache hits "
                "(Varnish's handling, X-Cache, status: requests):",
                "",
                *(
                    f"- {m['handling']}, `{m['x_cache'] or '(no X-Cache)'}`, {m['status']}: "
                    f"{m['requests']:,}"
                    for m in figures["untouched_misses"][:10]
                ),
            ]
        if newsroom.get("errors"):
            lines += ["", "The newsroom script reported:", ""]
            lines += [f"- {error}" for error in newsroom["errors"][:10]]
        return lines

    def verdicts(self):
        """Return one sentence per target, saying whether this run met it."""
        stories = self.args.stories
        article = self.bench.best("article", "uncached")
        search = self.bench.best("search", "uncached")
        size_note = ""
        if stories < TARGET_SEARCH_STORIES:
            size_note = (
                f" ({stories / TARGET_SEARCH_STORIES:.0%} of the target's size), "
                "so it is indicative only"
            )
        verdicts = []
        speedups = []
        for page, previous in PREVIOUS_UNCACHED_RPS.items():
            result = self.bench.best(page, "uncached")
            rate = requests_per_second(result["load"])
            met = not self.is_error(result) and rate >= TARGET_UNCACHED_SPEEDUP * previous
            speedups.append(
                f"{page} {met_word(met)} ({rate:,.0f}/s, {rate / previous:.1f}× {previous}/s)"
            )
        verdicts.append(
            f"- **Uncached home, article and feed ≥ {TARGET_UNCACHED_SPEEDUP}× the previous "
            f"figures** (2026-11-26, this machine, {self.args.connections} connections on "
            f"{WORKERS} workers): " + "; ".join(speedups) + "."
        )
        verdicts += [
            f"- **Uncached article p50 ≤ {TARGET_ARTICLE_P50_MS} ms**: on one connection, the "
            "time a request takes, "
            f"{judged(article['single'], 'p50_ms', TARGET_ARTICLE_P50_MS)}; "
            f"under load with {self.args.connections} connections on {WORKERS} workers, where "
            "each request also waits for a free worker, "
            f"{judged(article['load'], 'p50_ms', TARGET_ARTICLE_P50_MS)}.",
            f"- **Search p95 ≤ {TARGET_SEARCH_P95_MS} ms at {TARGET_SEARCH_STORIES:,} "
            f"stories**: this run had {stories:,} stories{size_note}. On one connection "
            f"{judged(search['single'], 'p95_ms', TARGET_SEARCH_P95_MS)}; under load "
            f"{judged(search['load'], 'p95_ms', TARGET_SEARCH_P95_MS)}.",
        ]
        front = self.bench.best("article", "front cache")
        ceiling = self.static_rps()
        share = requests_per_second(front["load"]) / ceiling if ceiling else 0.0
        share_met = share >= TARGET_STATIC_SHARE and not self.is_error(front)
        verdicts.append(
            f"- **Cached article pages through Varnish ≥ {TARGET_STATIC_SHARE:.0%} of the "
            f"static ceiling**: {met_word(share_met)}"
            f" ({requests_per_second(front['load']):,.0f}/s against nginx's {ceiling:,.0f}/s "
            f"for the same page as a file: {share:.0%}; the better of two runs each, "
            f"alternating, {front['connections']} connections, {self.args.threads} wrk "
            f"threads, {self.args.duration} s a run)."
        )
        breaking = self.breaking
        untouched = breaking.hit_ratio("untouched")
        verdicts.append(
            f"- **Hit ratio ≥ {TARGET_UNCHANGED_HIT_RATIO:.0%} on article URLs that did not "
            "change, during breaking news** (no purge named any of their keys): "
            + (
                f"{met_word(untouched >= TARGET_UNCHANGED_HIT_RATIO)} ({percent(untouched)})."
                if untouched is not None
                else "not measured (no such requests in the log)."
            )
        )
        edits, missing = breaking.delays("edits", "commit_to_fresh_s")
        fresh_met = bool(edits) and not missing and edits[-1] <= TARGET_FRESH_SECONDS
        verdicts.append(
            f"- **Commit → fresh page at the front ≤ {TARGET_FRESH_SECONDS:g} s**: "
            f"{met_word(fresh_met)} ({delay_cell(edits, missing)})."
        )
        errors = [r for r in self.results if self.is_error(r)]
        if errors or breaking.load["status_5xx"]:
            named = [f"{r['page']} ({r['mode']})" for r in errors]
            if breaking.load["status_5xx"]:
                named.append("breaking news")
            verdicts.append(
                "- **Errors**: "
                + ", ".join(named)
                + " answered with server errors; see the errors column and the logs in "
                "var/bench/."
            )
        return verdicts

    def slowest_queries(self):
        lines = []
        for page in UNCACHED_PAGES:
            requests = self.requests_counted(page)
            if not requests:
                continue
            slowest = max(requests, key=lambda r: r["slowest_ms"])
            total = max(r["sql_ms"] for r in requests)
            lines += [
                f"**{page}**: up to {total:.0f} ms of SQL per request; the slowest statement "
                f"took {slowest['slowest_ms']:.0f} ms, on `{slowest['path']}`:",
                "",
                "```sql",
                short_sql(slowest["slowest_sql"]),
                "```",
                "",
            ]
            plan = self.query_counts["plans"].get(page)
            if plan:
                lines += [
                    "<details><summary>Its plan (EXPLAIN ANALYZE, run again after the "
                    "request)</summary>",
                    "",
                    "```",
                    plan,
                    "```",
                    "",
                    "</details>",
                    "",
                ]
        return lines

    def markdown(self):
        machine = self.machine
        args = self.args
        stories = args.stories
        tool_line = (
            f"wrk {machine['wrk'].removeprefix('wrk ')} with `bench/paths.lua`"
            if self.tool == "wrk"
            else "`bench/load.py` (Python threads; wrk was not installed, so throughput is a floor)"
        )
        vcl = machine["vcl"]
        vcl_name = str(vcl.relative_to(BASE_DIR)) if vcl.is_relative_to(BASE_DIR) else str(vcl)
        warmed = machine["warmed"]
        errors = sorted(set(self.bench.server_errors))
        busy = machine["background"]
        lines = [
            "# Benchmarks",
            "",
            f"Written by `make bench` (`bench/run.py`) on {machine['date']}; running it again "
            "replaces this file, so change the script rather than the text.",
            "",
            "## How to run",
            "",
            "```sh",
            "make bench                                      # 10,000 stories, about 10 minutes",
            ".venv/bin/python bench/run.py --stories 100000  # the search target's size",
            ".venv/bin/python bench/run.py --reuse           # keep the last run's data",
            ".venv/bin/python bench/run.py --help            # durations, connections, VCL",
            "```",
            "",
            "It needs PostgreSQL on 127.0.0.1:5432 (user `postgres`, no password), Redis on "
            "127.0.0.1:6379, and Debian's `varnish` (7.1, with `varnish-modules` for xkey), "
            "`nginx` and `wrk`. It only ever touches the database "
            f"`{DATABASE}` (dropped and re-created unless `--reuse`) and Redis database "
            f"{REDIS_DB} (flushed), keeps its files in `var/bench/`, starts gunicorn, varnishd, "
            "varnishncsa and nginx on free ports of 127.0.0.1, and stops each by its PID, even "
            "on error or SIGTERM. Fake stories for any other database: `python "
            "bench/generate_stories.py --stories N [--sections 8] [--authors 200] [--photos 20] "
            "[--seed 1] [--reset]`.",
            "",
            "## How it measures",
            "",
            f"- **Data**: {stories:,} stories from `bench/generate_stories.py` (seed 1): ~600-word "
            "bodies, 1–3 bylines and 0–4 tags each, 8 sections, 200 authors, 120 tags, 20 "
            "shared lead photos with renditions on ~65% of stories, a few corrections and "
            "drafts, published over two years with a handful in the last 48 hours; search "
            "vectors filled; `VACUUM ANALYZE` before measuring. "
            f"Readers can reach {self.reachable['articles']:,} stories.",
            f"- **Server**: gunicorn, {WORKERS} sync workers, `DEBUG=0`, production settings "
            "(WhiteNoise, psycopg pool, CSP, surrogate keys), no access log, Django cache in "
            f"Redis db {REDIS_DB}.",
            f"- **uncached**: gunicorn alone; every request renders. {args.connections} "
            "connections, as in the previous figures the targets compare with.",
            f"- **front cache**: varnishd {machine['varnish']} with `{vcl_name}` (sha256 "
            f"`{machine['vcl_sha']}…`), {VARNISH_STORAGE.replace(',', ' ')}, in front of the same "
            "gunicorn, through a `backend.vcl` the script writes (found by `-p vcl_path`, with "
            "a probe on `/healthz`). Before timing, every page is fetched once through Varnish "
            f"({PRIME_CONNECTIONS} connections, at most {PRIME_SECONDS} s a page): home, "
            f"{warmed['section']} sections, the feed, and {warmed['article']:,} of the 1,000 "
            "newest stories, which the article runs then rotate over. Hits are counted from "
            "the `X-Cache` header of each answer; *to gunicorn* is Varnish's own count of "
            "backend fetches during the loaded run.",
            f"- **static file**: nginx {machine['nginx']} ({machine['cores']} workers, "
            "`sendfile`, `gzip_static`, no access log) answering every article URL with one "
            f"saved article page ({page_copy_size(machine)}, the median size of 25 of the "
            "newest, as Varnish sent it to a browser): about the most any server could do for "
            "that page here. It and the Varnish article run go one after the other, twice, "
            "with the same wrk settings (the repeats without the one-connection run).",
            f"- **breaking news**: {args.front_connections} connections read the "
            f"{warmed['article']:,} warmed article URLs and the home page (one request in "
            f"{HOME_EVERY}) through Varnish for {args.breaking_duration} s"
            + (
                f", paced to at most {args.breaking_rate:,} requests/s, a large news site's "
                "peak. (Unpaced, wrk and Varnish take both cores and the renders that purges "
                "set off wait for CPU behind the load generator, which in production runs "
                "elsewhere; `--breaking-rate 0` shows it.) "
                if args.breaking_rate
                else ", unpaced. "
            )
            + "Meanwhile `bench/breaking.py` (Django, the same database, `VARNISH_URLS` set to "
            "the bench Varnish so that its commits purge it, and `manage.py db_worker` beside "
            "it sending each purge again a moment later, as in production) edits the headline "
            "of one of the "
            f"50 newest stories every {args.edit_every:g} s with the model's `save()` inside a "
            "revision, as the admin's change form does, and publishes a new story every "
            f"{args.publish_every:g} s (the first halfway through) with `article_publish`, as "
            "*Save and publish* does. After each edit it polls the story's URL through Varnish "
            "until the new headline shows, and after each new story the home page until the "
            "story shows, timing from the commit. varnishncsa logs every answer and every "
            "fetch from gunicorn with its `xkey` header. An article URL is *touched* when a "
            "purge named one of the keys it was stored with (its own story changed, or one it "
            "shows); the hit ratio of the target is on the others, from the `X-Cache` header "
            "of each answer. Afterwards the script puts every headline back and deletes its "
            "stories.",
            f"- **Load**: {tool_line}, from a separate process, {args.threads} threads, "
            f"{args.duration} s per page after a {WARM_UP_SECONDS} s warm-up; then "
            f"{args.single_duration} s on one connection (the *p50 ms, 1 connection* column: "
            "the time a request takes when it does not queue). Every request says "
            "`Accept-Encoding: gzip`, as browsers do (gunicorn does not compress; Varnish "
            "stores pages gzipped). Latencies are per request, including queueing.",
            "- **Pages**: home `/`; article, a random one per request of every public story "
            "(uncached) or of the warmed ones (front cache); section, random among all "
            f"sections' first pages; search, random among {', '.join(f'`{q}`' for q in SEARCHES)}"
            " (uncached only: the VCL passes `/search/`); feed `/feeds/latest/`.",
            "- **Queries**: counted in a separate process with Django's test client and "
            "`CaptureQueriesContext` against the same database, on up to 20 URLs per page "
            "(a range means the count varied).",
            "",
            "## Machine",
            "",
            f"- Date: {machine['date']}",
            f"- CPU: {machine['cpu']}, {machine['cores']} cores; RAM {machine['ram_gb']} GB; "
            f"{machine['os']}",
            f"- PostgreSQL {machine['postgres']}, Redis {machine['redis']}, Python "
            f"{machine['python']}, Django {machine['django']}, gunicorn {machine['gunicorn']}, "
            f"psycopg {machine['psycopg']}, Varnish {machine['varnish']}, nginx "
            f"{machine['nginx']}, {machine['wrk']}",
            "- The load generator shares the cores with gunicorn, Varnish, nginx, PostgreSQL "
            "and Redis. Just before each part, other work kept the CPU "
            + ", ".join(f"{share:.0%} busy ({mode})" for mode, share in busy.items())
            + (
                " — **other processes were competing for the cores, so the figures below are "
                "pessimistic**."
                if max(busy.values()) > BUSY_MACHINE_SHARE
                else "."
            ),
            f"- The whole run took {self.minutes:.1f} minutes.",
            "",
            f"## Results ({stories:,} stories)",
            "",
            self.table(),
            "",
            "Against the static ceiling (nginx serving the saved article page, the better of "
            f"its two runs: {self.static_rps():,.0f} requests/s; home, section and feed pages "
            "are larger or smaller than that page, so only the article is a like-for-like "
            "ratio):",
            "",
            *self.ceiling_lines(),
            "",
            "## Breaking news",
            "",
            *self.breaking_lines(),
            "",
            "## Against the targets",
            "",
            *self.verdicts(),
            "",
            "## Where the SQL time goes (uncached, one request at a time)",
            "",
            *self.slowest_queries(),
        ]
        if errors:
            lines += [
                "## Server errors logged during the run",
                "",
                "```",
                *errors[:20],
                "```",
                "",
            ]
        return "\n".join(lines).rstrip() + "\n"


def other_sections(text):
    """Return the ``## `` sections of ``text`` this script does not write, such as the one
    bench/newsletter.py adds, so that a run keeps them."""
    sections = re.split(r"(?m)^(?=## )", text)[1:]
    return [
        "\n" + section.rstrip() + "\n"
        for section in sections
        if not section.removeprefix("## ").startswith(OWN_SECTIONS)
    ]


def short_sql(statement, limit=900):
    """Return ``statement`` with its column lists elided, so the joins and filters show."""
    text = " ".join(statement.split())
    text = re.sub(r"SELECT (?!\* )(?:(?!\bFROM\b).)*? FROM", "SELECT … FROM", text)
    return text if len(text) <= limit else text[:limit] + " …"


def page_copy_size(machine):
    size = f"{machine['page_copy_bytes']:,} bytes"
    if machine["page_copy_gzip_bytes"]:
        size += f", {machine['page_copy_gzip_bytes']:,} gzipped"
    return size


# A run that did not happen (the repeats skip the one-connection run).
EMPTY_RUN = {
    "requests": 0, "status_4xx": 0, "status_5xx": 0, "timeouts": 0, "socket_errors": 0,
}  # fmt: skip


def milliseconds(run, key):
    """Return a latency for the table; wrk's percentiles only cover answered requests."""
    if not run["requests"]:
        return "–"
    return f"{run[key]:.2f}" if run[key] < 1 else f"{run[key]:.1f}"


def count_range(values):
    values = sorted(set(values))
    if not values:
        return "–"
    return str(values[0]) if len(values) == 1 else f"{values[0]}–{values[-1]}"


def percent(share):
    """Return a share as a percentage precise enough to tell 99.9% from 100%."""
    if share is None:
        return "–"
    if share == 1:
        return "100%"
    return f"{min(share * 100, 99.99):.2f}%" if share >= 0.99 else f"{share:.1%}"


def ratio_cell(share, counts):
    total = counts["hit"] + counts["other"]
    return f"{percent(share)} of {total:,} requests" if total else "no requests"


def delay_cell(delays, missing):
    """Return the median and maximum of ``delays`` (s), and how many never showed."""
    if not delays:
        text = "none measured"
    else:
        text = f"median {statistics.median(delays) * 1000:,.0f} ms, max {delays[-1] * 1000:,.0f} ms"
    if missing:
        text += f"; **{missing} not shown within the poll's deadline**"
    return text


def answer_counts(answers):
    if not answers:
        return "nothing logged"
    return ", ".join(f"{count:,} × {status}" for status, count in sorted(answers.items()))


def met_word(met):
    return "met" if met else "not met"


def judged(run, key, target):
    """Return whether ``run`` met ``target`` for the latency ``key``, with the figure."""
    if not run["requests"]:
        return f"not met (no answer within {REQUEST_TIMEOUT_SECONDS} s)"
    if run["timeouts"]:
        return f"not met ({run['timeouts']} requests unanswered within {REQUEST_TIMEOUT_SECONDS} s)"
    return f"{'met' if run[key] <= target else 'not met'} ({run[key]:.1f} ms)"


if __name__ == "__main__":
    main()
