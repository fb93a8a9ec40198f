"""Benchmark the public site under gunicorn and write docs/benchmarks.md.

    .venv/bin/python bench/run.py                   # 10,000 stories (what `make bench` runs)
    .venv/bin/python bench/run.py --stories 100000  # the size the search target is set for
    .venv/bin/python bench/run.py --reuse           # keep newsroom_bench if it has the data

Works on its own PostgreSQL database, ``newsroom_bench`` (created, or dropped and
re-created, and never any other), and on Redis database 15 (flushed, and never any
other). It generates stories with ``manage.py generate_stories``, starts gunicorn with
two workers and ``DEBUG`` off, and loads five pages from a separate process: wrk with
bench/paths.lua when it is installed, else bench/load.py. Each page is measured with the
page cache off (PAGE_CACHE_SECONDS=0) and on (600 s, in Redis as in production), under
load and then on a single connection. Query counts come from Django's test client in a
separate process (bench/queries.py). Nothing is asserted: the figures are reported
against the targets in docs/benchmarks.md and on the terminal.
"""

import argparse
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from urllib.parse import quote

import psycopg
import redis
from psycopg import sql

BASE_DIR = Path(__file__).resolve().parent.parent
BENCH_DIR = BASE_DIR / "bench"
WORK_DIR = BASE_DIR / "var" / "bench"

POSTGRES = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
DATABASE = "newsroom_bench"
REDIS_DB = 15
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
HOST = "127.0.0.1"
WORKERS = 2
CACHED_SECONDS = 600
WARM_UP_SECONDS = 2
REQUEST_TIMEOUT_SECONDS = 10
PRIME_SECONDS = 60

# Searches a reader might type: a common word, several words, a phrase, an exclusion
# and a rare word. The generator's vocabulary (generate_stories.py) has them all.
SEARCHES = ["council", "hospital waiting times", '"city council"', "flood -insurance", "lighthouse"]
STATIC_PAGES = {
    "home": ["/"],
    "search": [f"/search/?q={quote(query)}" for query in SEARCHES],
    "feed": ["/feeds/latest/"],
}
PAGES = ["home", "article", "section", "search", "feed"]
# The sections of docs/benchmarks.md this script writes; it keeps any others.
OWN_SECTIONS = (
    "How to run", "How it measures", "Machine", "Results", "Against the targets",
    "Where the SQL time goes", "Server errors",
)  # fmt: skip
MODES = {"uncached": 0, "cached": CACHED_SECONDS}

TARGET_ARTICLE_P50_MS = 15
TARGET_SEARCH_P95_MS = 50
TARGET_SEARCH_STORIES = 100_000
TARGET_CACHED_RPS = 1500
# Above this share of CPU busy with other work before a measurement, the report warns.
BUSY_MACHINE_SHARE = 0.15


def main():
    args = parse_arguments()
    # A SIGTERM (make interrupted, CI timeout) unwinds through the finally blocks too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
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
        manage(
            environment, "generate_stories", "--stories", str(args.stories), "--seed", "1", *reset
        )
    vacuum_analyze()
    manage(environment, "collectstatic", "--noinput", "--verbosity", "0")

    pages_dir = WORK_DIR / "pages"
    shutil.rmtree(pages_dir, ignore_errors=True)
    pages_dir.mkdir()
    for page, paths in STATIC_PAGES.items():
        (pages_dir / f"{page}.txt").write_text("\n".join(paths) + "\n")
    reachable = bench_script(environment, "queries.py", "paths", str(pages_dir))

    tool = "wrk" if shutil.which("wrk") and not args.python_load else "python"
    results, query_counts, background = [], {}, {}
    for mode, cache_seconds in MODES.items():
        mode_environment = {**environment, "PAGE_CACHE_SECONDS": str(cache_seconds)}
        step(f"Query counts, {mode}")
        flush_cache()
        query_counts[mode] = bench_script(mode_environment, "queries.py", "count", str(pages_dir))
        background[mode] = cpu_busy_share()
        step(f"Load, {mode}, with {tool} (CPU busy with other work: {background[mode]:.0%})")
        flush_cache()
        results += load_pages(mode, mode_environment, pages_dir, tool=tool, args=args)
    flush_cache()

    report = Report(
        args=args,
        tool=tool,
        results=results,
        query_counts=query_counts,
        reachable=reachable,
        machine={**machine(), "background": background},
        minutes=(time.monotonic() - started) / 60,
    )
    output = BASE_DIR / args.output
    existing = output.read_text() if output.exists() else ""
    output.write_text(report.markdown() + "".join(other_sections(existing)))
    print()
    print(report.table())
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
    parser.add_argument("--connections", type=int, default=8, help="Concurrent connections.")
    parser.add_argument(
        "--python-load", action="store_true", help="Use bench/load.py even if wrk is installed."
    )
    parser.add_argument("--output", default="docs/benchmarks.md", help="Report to write.")
    return parser.parse_args()


def step(message):
    print(f"\n== {message}", flush=True)


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


def free_port():
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class Gunicorn:
    """gunicorn serving the site on a free port, stopped by its PID when the block ends."""

    def __init__(self, environment, log_path):
        self.environment = environment
        self.log_path = log_path
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.process = None

    def __enter__(self):
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in __exit__
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "newsroom.wsgi",
                "--bind",
                f"{HOST}:{self.port}",
                "--workers",
                str(WORKERS),
                "--log-level",
                "warning",
            ],  # fmt: skip
            cwd=BASE_DIR,
            env=self.environment,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        try:
            self.wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def wait_until_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited at start; see {self.log_path}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.25)
        raise RuntimeError(f"gunicorn did not answer /healthz within {timeout} s")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def error_lines(self):
        """Return the errors Django logged while serving (500s show up here)."""
        return [
            line.strip()
            for line in self.log_path.read_text(errors="replace").splitlines()
            if "Internal Server Error" in line or line.startswith(("Traceback", "ERROR"))
        ]


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


def load_pages(mode, environment, pages_dir, *, tool, args):
    """Return one result per page: throughput and latency under load and on one connection."""
    results = []
    with Gunicorn(environment, WORK_DIR / f"gunicorn-{mode}.log") as server:
        for page in PAGES:
            paths_file = pages_dir / f"{page}.txt"
            if page == "article" and mode == "cached":
                paths_file = prime_newest_articles(server.url, pages_dir, args.connections)
            paths_count = len(paths_file.read_text().split())
            load(tool, server.url, paths_file, WARM_UP_SECONDS, args.threads, args.connections)
            loaded = load(
                tool, server.url, paths_file, args.duration, args.threads, args.connections
            )
            single = load(tool, server.url, paths_file, args.single_duration, 1, 1)
            print(
                f"{page:8} {mode:8} {loaded['requests'] / loaded['duration_s']:8.1f} req/s  "
                f"p50 {loaded['p50_ms']:.1f} ms  p99 {loaded['p99_ms']:.1f} ms  "
                f"(one connection: p50 {single['p50_ms']:.1f} ms)",
                flush=True,
            )
            results.append(
                {"page": page, "mode": mode, "paths": paths_count, "load": loaded, "single": single}
            )
        server_errors = server.error_lines()
    for result in results:
        result["server_errors"] = server_errors
    return results


def prime_newest_articles(url, pages_dir, connections):
    """Fetch the newest stories once each, for a bounded time; return the file of those cached.

    A short run cannot warm every page, so the cached run reads the newest stories, as a
    news site's traffic mostly does, after putting them in the cache.
    """
    primed = pages_dir / "article-cached.txt"
    subprocess.run(
        [
            sys.executable,
            str(BENCH_DIR / "load.py"),
            "prime",
            url,
            str(pages_dir / "article-hot.txt"),
            "--connections",
            str(connections),
            "--budget",
            str(PRIME_SECONDS),
            "--output",
            str(primed),
        ],  # fmt: skip
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return primed if primed.read_text().strip() else pages_dir / "article-hot.txt"


def load(tool, url, paths_file, duration, threads, connections):
    """Return the results of one load run as the dict bench/paths.lua prints."""
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
        ]  # fmt: skip
    completed = subprocess.run(
        command, check=True, stdout=subprocess.PIPE, text=True, timeout=duration + 60
    )
    for line in completed.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            return json.loads(line.removeprefix("BENCH_JSON "))
    raise RuntimeError(f"No results from {command[0]}:\n{completed.stdout}")


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
    def __init__(self, *, args, tool, results, query_counts, reachable, machine, minutes):
        self.args = args
        self.tool = tool
        self.results = results
        self.query_counts = query_counts
        self.reachable = reachable
        self.machine = machine
        self.minutes = minutes

    def find(self, page, mode):
        return next(r for r in self.results if r["page"] == page and r["mode"] == mode)

    def requests_per_second(self, result):
        return result["load"]["requests"] / result["load"]["duration_s"]

    def requests_counted(self, mode, page):
        return self.query_counts[mode]["requests"].get(page, [])

    def queries_cell(self, page, mode):
        requests = self.requests_counted(mode, page)
        if not requests:
            return "–"
        if mode == "uncached":
            return count_range(r["queries"] for r in requests)
        hits = count_range(r["queries"] for r in requests if r["cache"] == "hit")
        misses = count_range(r["queries"] for r in requests if r["cache"] == "miss")
        return f"{hits} hit, {misses} miss"

    def errors_cell(self, result):
        loaded, single = result["load"], result["single"]
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
        in_process = [
            r for r in self.requests_counted(result["mode"], result["page"]) if r["error"]
        ]
        if in_process:
            problems.append(f"**error in process: {in_process[0]['error'][:120]}**")
        return "; ".join(problems) or "none"

    def is_error(self, result):
        return self.errors_cell(result).startswith("**")

    def rows(self):
        rows = []
        for result in self.results:
            loaded, single = result["load"], result["single"]
            mode = result["mode"]
            looked_up = loaded["hits"] + loaded["misses"]
            if mode == "cached" and looked_up:
                mode = f"cached ({loaded['hits'] / looked_up:.0%} hits)"
            rows.append(
                [
                    f"{result['page']} ({result['paths']:,} URLs)"
                    if result["paths"] > 1
                    else result["page"],
                    mode,
                    "error"
                    if self.is_error(result)
                    else f"{self.requests_per_second(result):,.0f}",
                    milliseconds(loaded, "p50_ms"),
                    milliseconds(loaded, "p95_ms"),
                    milliseconds(loaded, "p99_ms"),
                    milliseconds(single, "p50_ms"),
                    self.queries_cell(result["page"], result["mode"]),
                    self.errors_cell(result),
                ]
            )
        return rows

    def table(self):
        header = [
            "page", "mode", "requests/s", "p50 ms", "p95 ms", "p99 ms",
            "p50 ms, 1 connection", "queries", "errors",
        ]  # fmt: skip
        lines = [
            "| " + " | ".join(header) + " |",
            "|" + "|".join("---" if i < 2 else "---:" for i in range(len(header) - 1)) + "|---|",
        ]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows()]
        return "\n".join(lines)

    def verdicts(self):
        """Return one sentence per target, saying whether this run met it."""
        stories = self.args.stories
        article = self.find("article", "uncached")
        search = self.find("search", "uncached")
        size_note = ""
        if stories < TARGET_SEARCH_STORIES:
            size_note = (
                f" ({stories / TARGET_SEARCH_STORIES:.0%} of the target's size), "
                "so it is indicative only"
            )
        verdicts = [
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
        cached = [r for r in self.results if r["mode"] == "cached"]
        below = [
            r["page"] + (" (error)" if self.is_error(r) else "")
            for r in cached
            if self.is_error(r) or self.requests_per_second(r) < TARGET_CACHED_RPS
        ]
        rates = ", ".join(f"{r['page']} {self.requests_per_second(r):,.0f}/s" for r in cached)
        verdicts.append(
            f"- **Cached pages ≥ {TARGET_CACHED_RPS:,} requests/s**: "
            + ("met by every page" if not below else f"not met by {', '.join(below)}")
            + f" ({rates}). The load generator runs on the same {self.machine['cores']} "
            "cores as gunicorn, PostgreSQL and Redis, so these are lower bounds."
        )
        errors = [r for r in self.results if self.is_error(r)]
        if errors:
            verdicts.append(
                "- **Errors**: "
                + ", ".join(f"{r['page']} ({r['mode']})" for r in errors)
                + " answered with server errors; see the errors column and the gunicorn log."
            )
        return verdicts

    def slowest_queries(self):
        lines = []
        for page in PAGES:
            requests = self.requests_counted("uncached", page)
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
            plan = self.query_counts["uncached"]["plans"].get(page)
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
        stories = self.args.stories
        tool_line = (
            f"wrk {machine['wrk'].removeprefix('wrk ')} with `bench/paths.lua`"
            if self.tool == "wrk"
            else "`bench/load.py` (Python threads; wrk was not installed, so throughput is a floor)"
        )
        errors = sorted({line for r in self.results for line in r["server_errors"]})
        lines = [
            "# Benchmarks",
            "",
            f"Written by `make bench` (`bench/run.py`) on {machine['date']}; running it again "
            "replaces this file, so change the script rather than the text.",
            "",
            "## How to run",
            "",
            "```sh",
            "make bench                                      # 10,000 stories, a few minutes",
            ".venv/bin/python bench/run.py --stories 100000  # the search target's size",
            ".venv/bin/python bench/run.py --reuse           # keep the last run's data",
            ".venv/bin/python bench/run.py --help            # durations, connections, output",
            "```",
            "",
            "It needs PostgreSQL on 127.0.0.1:5432 (user `postgres`, no password) and Redis on "
            f"127.0.0.1:6379. It only ever touches the database `{DATABASE}` (dropped and "
            f"re-created unless `--reuse`) and Redis database {REDIS_DB} (flushed), keeps its "
            "files in `var/bench/`, and stops the gunicorn it started, by PID, even on error. "
            "Fake stories for any other database: `python manage.py generate_stories --stories "
            "N [--sections 8] [--authors 200] [--photos 20] [--seed 1] [--reset]`.",
            "",
            "## How it measures",
            "",
            f"- **Data**: {stories:,} stories from `generate_stories` (seed 1): ~600-word "
            "bodies, 1–3 bylines and 0–4 tags each, 8 sections, 200 authors, 120 tags, 20 "
            "shared lead photos with renditions on ~65% of stories, a few corrections and "
            "drafts, published over two years with a handful in the last 48 hours; search "
            "vectors filled; `VACUUM ANALYZE` before measuring. "
            f"Readers can reach {self.reachable['articles']:,} stories.",
            f"- **Server**: gunicorn, {WORKERS} sync workers, `DEBUG=0`, production settings "
            "(WhiteNoise, psycopg pool, CSP), no access log, Django cache in Redis db "
            f"{REDIS_DB} for both modes. **uncached**: `PAGE_CACHE_SECONDS=0`, every request "
            f"renders. **cached**: `PAGE_CACHE_SECONDS={CACHED_SECONDS}`, the whole-page cache "
            "in Redis, shared by the workers as in production.",
            f"- **Load**: {tool_line}, from a separate process, {self.args.threads} threads, "
            f"{self.args.connections} connections, {self.args.duration} s per page after a "
            f"{WARM_UP_SECONDS} s warm-up; then {self.args.single_duration} s on one connection "
            "(the *p50 ms, 1 connection* column: the time a request takes when it does not "
            "queue for a worker). Latencies are per request, including queueing.",
            "- **Pages**: home `/`; article, a random one of every public story per request "
            "(cached: of the 1,000 newest, those that could be fetched once in "
            f"{PRIME_SECONDS} s before timing, because a short run cannot warm them all); "
            "section, random among all sections' first pages; search, "
            f"random among {', '.join(f'`{q}`' for q in SEARCHES)}; feed `/feeds/latest/`.",
            "- **Queries**: counted in a separate process with Django's test client and "
            "`CaptureQueriesContext` against the same database, on up to 20 URLs per page "
            "(a range means the count varied). Cached: counted on a cache hit and on a miss.",
            "",
            "## Machine",
            "",
            f"- Date: {machine['date']}",
            f"- CPU: {machine['cpu']}, {machine['cores']} cores; RAM {machine['ram_gb']} GB; "
            f"{machine['os']}",
            f"- PostgreSQL {machine['postgres']}, Redis {machine['redis']}, Python "
            f"{machine['python']}, Django {machine['django']}, gunicorn {machine['gunicorn']}, "
            f"psycopg {machine['psycopg']}, {machine['wrk']}",
            "- Load generator, gunicorn, PostgreSQL and Redis share the machine. Just before "
            "each mode's load, other work kept the CPU "
            + ", ".join(
                f"{share:.0%} busy ({mode})" for mode, share in machine["background"].items()
            )
            + (
                " — **other processes were competing for the cores, so the figures below are "
                "pessimistic**."
                if max(machine["background"].values()) > BUSY_MACHINE_SHARE
                else "."
            ),
            f"- The whole run took {self.minutes:.1f} minutes.",
            "",
            f"## Results ({stories:,} stories)",
            "",
            self.table(),
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


def milliseconds(run, key):
    """Return a latency for the table; wrk's percentiles only cover answered requests."""
    return f"{run[key]:.1f}" if run["requests"] else "–"


def count_range(values):
    values = sorted(set(values))
    if not values:
        return "–"
    return str(values[0]) if len(values) == 1 else f"{values[0]}–{values[-1]}"


def judged(run, key, target):
    """Return whether ``run`` met ``target`` for the latency ``key``, with the figure."""
    if not run["requests"]:
        return f"not met (no answer within {REQUEST_TIMEOUT_SECONDS} s)"
    if run["timeouts"]:
        return f"not met ({run['timeouts']} requests unanswered within {REQUEST_TIMEOUT_SECONDS} s)"
    return f"{'met' if run[key] <= target else 'not met'} ({run[key]:.1f} ms)"


if __name__ == "__main__":
    main()
