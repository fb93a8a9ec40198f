"""Score the public pages with Lighthouse, mobile and desktop, on a production-like server.

Makes a demo database anew (newsroom_bench_lighthouse: the demo story of ``load_demo`` and
a few generated stories with bylines, tags and photos), serves it with gunicorn as
production does (DEBUG off, static files compressed and hashed by WhiteNoise) on
127.0.0.1, runs Lighthouse in Debian's Chromium on the home, article, section, search, search
results and author pages, and writes the four category scores and every audit that did not pass as
the "Lighthouse" section of docs/benchmarks.md. Lighthouse comes from npm and is
installed under var/lighthouse on the first run (about 15 s); Chromium from apt.

    .venv/bin/python bench/lighthouse.py [--stories 60] [--output docs/benchmarks.md]
"""

import argparse
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from in_process import ROOT, prepare_environment, replace_section
from services import Gunicorn, answers, program_version

DATABASE = "newsroom_bench_lighthouse"
WORK_DIR = ROOT / "var" / "bench" / "lighthouse"
# Lighthouse 13 needs Node 22; Debian 12's Node is 20.
LIGHTHOUSE_VERSION = "12.2.3"
LIGHTHOUSE_DIR = ROOT / "var" / "lighthouse"
LIGHTHOUSE = LIGHTHOUSE_DIR / "node_modules" / ".bin" / "lighthouse"
CHROMIUM = os.environ.get("CHROME_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
CATEGORY_NAMES = {
    "performance": "Performance",
    "accessibility": "Accessibility",
    "best-practices": "Best practices",
    "seo": "SEO",
}
FORM_FACTORS = ("mobile", "desktop")
# Audits that only inform, or that a person must judge, have no pass or fail.
UNSCORED = {"informative", "manual", "notApplicable", "error"}
SEARCH_QUERY = "council"
ATTEMPTS = 3
# Audits some pages fail on purpose: audit → (those pages, why).
DELIBERATE = {
    "is-crawlable": (
        {"search results"},
        "On purpose: results pages are kept out of search engines (noindex), as Google asks"
        " of internal search results, and Lighthouse scores any noindex page down"
        " (https://github.com/GoogleChrome/lighthouse/issues/6111)",
    ),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=60, help="Generated stories (default 60).")
    parser.add_argument(
        "--runs", type=int, default=3, help="Runs per page, the median kept (default 3)."
    )
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    options = parser.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"Chromium not found at {CHROMIUM}; install Debian's chromium package.")
    install_lighthouse()

    shutil.rmtree(WORK_DIR, ignore_errors=True)
    WORK_DIR.mkdir(parents=True)
    server = Gunicorn(None, WORK_DIR / "gunicorn.log", workers=2)
    prepare_environment(
        DATABASE,
        ALLOWED_HOSTS="127.0.0.1",
        SITE_URL=server.url,
        STATIC_ROOT=str(WORK_DIR / "static"),
        MEDIA_ROOT=str(WORK_DIR / "media"),
        CACHE_DIR=str(WORK_DIR / "cache"),
        LOG_LEVEL="WARNING",
    )
    server.environment = dict(os.environ)

    import django

    django.setup()
    pages = fill_database(options.stories)
    results = {}
    load_before = os.getloadavg()[0]
    with server:
        for name, path in pages.items():
            # As a reader meets a busy site: the server's caches and code already warm.
            for _ in range(3):
                assert answers(server.url + path, timeout=30) == 200, path
            for form_factor in FORM_FACTORS:
                print(f"Lighthouse: {name} ({form_factor}) {path}", flush=True)
                reports = [
                    run_lighthouse(
                        server.url + path,
                        form_factor,
                        WORK_DIR / "reports" / f"{name.replace(' ', '-')}-{form_factor}-{run}.json",
                    )
                    for run in range(1, options.runs + 1)
                ]
                results[name, form_factor] = median_report(reports)
    load = (load_before, os.getloadavg()[0])
    errors = server.error_lines()
    if errors:
        raise SystemExit("The server logged errors:\n" + "\n".join(errors[:20]))

    table = score_table(results)
    print("\n".join(table))
    failing = failing_audits(results)
    print("\n".join(failing) or "Every audit passed.")
    write_section(options.output, pages, table, failing, results, runs=options.runs, load=load)


def install_lighthouse():
    """Install Lighthouse from npm under var/lighthouse unless that version is there."""
    package = LIGHTHOUSE_DIR / "node_modules" / "lighthouse" / "package.json"
    if package.exists() and json.loads(package.read_text())["version"] == LIGHTHOUSE_VERSION:
        return
    print(f"Installing Lighthouse {LIGHTHOUSE_VERSION} under {LIGHTHOUSE_DIR} ...", flush=True)
    LIGHTHOUSE_DIR.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "npm", "install", "--prefix", str(LIGHTHOUSE_DIR), "--no-audit", "--no-fund",
            "--loglevel=error", f"lighthouse@{LIGHTHOUSE_VERSION}",
        ],
        check=True,
    )  # fmt: skip


def fill_database(stories):
    """Load the demo and ``stories`` generated stories; return {page name: path} to score."""
    from django.core.management import call_command
    from django.db.models import Count
    from generate_stories import generate_stories

    from articles.models import Article, Author

    call_command("migrate", verbosity=0)
    call_command("load_demo", verbosity=0)
    generate_stories(stories=stories, authors=12, seed=1)
    call_command("collectstatic", interactive=False, verbosity=0)
    story = Article.objects.published().exclude(lead_photo=None).order_by("-published_at").first()
    author = Author.objects.annotate(stories=Count("bylines")).order_by("-stories", "name").first()
    return {
        "home": "/",
        "article": story.get_absolute_url(),
        "section": story.section.get_absolute_url(),
        "search": "/search/",
        "search results": f"/search/?q={SEARCH_QUERY}",
        "author": author.get_absolute_url(),
    }


def run_lighthouse(url, form_factor, report_path):
    """Return Lighthouse's report on ``url`` for ``form_factor``, also kept at ``report_path``."""
    report_path.parent.mkdir(exist_ok=True)
    command = [
        str(LIGHTHOUSE), url,
        "--output=json", f"--output-path={report_path}", "--quiet",
        f"--only-categories={','.join(CATEGORIES)}",
        "--chrome-flags=--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage",
    ]  # fmt: skip
    if form_factor == "desktop":
        command.append("--preset=desktop")
    # Now and then Chromium's trace misses the navigation (NO_NAVSTART) and Lighthouse
    # gives up, asking to be run again.
    for attempt in range(1, ATTEMPTS + 1):
        completed = subprocess.run(
            command, timeout=300, env={**os.environ, "CHROME_PATH": str(CHROMIUM)}
        )
        if completed.returncode == 0:
            return json.loads(report_path.read_text())
        print(f"Lighthouse failed on {url} (attempt {attempt} of {ATTEMPTS}).", flush=True)
    raise SystemExit(f"Lighthouse failed {ATTEMPTS} times on {url} ({form_factor}).")


def median_report(reports):
    """Return the report whose performance score is the median, as Lighthouse advises.

    https://github.com/GoogleChrome/lighthouse/blob/main/docs/variability.md
    """
    ranked = sorted(reports, key=lambda report: report["categories"]["performance"]["score"] or 0)
    return ranked[len(ranked) // 2]


def score(report, category):
    value = report["categories"][category]["score"]
    return "error" if value is None else round(value * 100)


def score_table(results):
    """Return Markdown lines: one row per page and form factor, a column per category."""
    header = "| page | form factor | " + " | ".join(CATEGORY_NAMES[c] for c in CATEGORIES) + " |"
    rows = [header, "|---|---|" + "---:|" * len(CATEGORIES)]
    for (name, form_factor), report in results.items():
        scores = " | ".join(str(score(report, category)) for category in CATEGORIES)
        rows.append(f"| {name} | {form_factor} | {scores} |")
    return rows


def audits_not_passed(report):
    """Yield (category, audit id, title, detail) for each weighted audit short of full marks."""
    for category in CATEGORIES:
        for reference in report["categories"][category]["auditRefs"]:
            audit = report["audits"][reference["id"]]
            if reference["weight"] == 0 or audit["scoreDisplayMode"] in UNSCORED:
                continue
            if audit["score"] is not None and audit["score"] < 1:
                parts = (audit.get("displayValue", ""), f"score {audit['score']:.2f}")
                detail = ", ".join(part for part in parts if part)
                yield category, audit["id"], audit["title"], detail


def failing_audits(results):
    """Return Markdown list lines: each audit not passed, with the pages it failed on."""
    found = {}
    for (name, form_factor), report in results.items():
        for category, audit_id, title, detail in audits_not_passed(report):
            found.setdefault((category, audit_id, title), []).append((name, form_factor, detail))
    lines = []
    for (category, audit_id, title), failures in sorted(found.items()):
        pages = ", ".join(
            f"{name} {form_factor} ({detail})" for name, form_factor, detail in failures
        )
        line = f"- {CATEGORY_NAMES[category]}, `{audit_id}` ({title}): {pages}"
        deliberate_pages, why = DELIBERATE.get(audit_id, (set(), ""))
        if all(name in deliberate_pages for name, _, _ in failures):
            line += f". {why}"
        lines.append(line)
    return lines


def write_section(path, pages, table, failing, results, *, runs, load):
    """Replace the Lighthouse section of the benchmarks page with this run's results."""
    report = next(iter(results.values()))
    chromium_version = program_version([CHROMIUM, "--version"], r"Chromium ([\d.]+)")
    replace_section(
        path,
        "Lighthouse",
        f"Measured by `bench/lighthouse.py` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
        f" with Lighthouse {report['lighthouseVersion']} in Chromium {chromium_version}"
        " (headless), against gunicorn on 127.0.0.1 with production settings (DEBUG off,"
        " WhiteNoise) and a fresh demo database: the demo story and generated stories with"
        " photos. Mobile is Lighthouse's default (an emulated mid-range phone, simulated slow"
        " 4G and a 4× slower CPU); desktop is its desktop preset. Each page is loaded three"
        f" times before it is measured, and measured {runs} times; the run with the median"
        " performance score is shown. Pages: "
        + ", ".join(f"{name} `{path}`" for name, path in pages.items())
        + f". Performance depends on the machine and on what else it runs (load average"
        f" {load[0]:.1f} at the start, {load[1]:.1f} at the end, on {os.cpu_count()} cores);"
        " the other three categories do not.\n\n"
        + "\n".join(table)
        + "\n\nAudits that did not pass:\n\n"
        + ("\n".join(failing) or "None: every audit passed on every page."),
    )


if __name__ == "__main__":
    main()
