"""The in-process half of bench/run.py: list the pages to load and count their SQL queries.

    python bench/queries.py paths DIR      # write article.txt, article-hot.txt, section.txt
    python bench/queries.py count DIR      # print query counts for every *.txt page in DIR

Run with the bench environment (DATABASE_URL pointing at newsroom_bench). ``count``
requests a sample of each page's paths with Django's test client and records, per
request, the status, the number of queries and the slowest query; every request renders,
as it does when it reaches gunicorn. The slowest statement of each page is then run once
more under ``EXPLAIN ANALYZE`` to show where its time goes. Nothing here asserts
anything: it reports.
"""

import json
import os
import random
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsroom.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from articles.models import Article, Section  # noqa: E402

HOT_ARTICLES = 1000
SAMPLE_SIZE = 20


def write_paths(directory):
    """Write the article and section paths readers can reach; return how many of each."""
    articles = [
        article.get_absolute_url()
        for article in Article.objects.published()
        .order_by("-published_at")
        .only("slug", "published_at")
        .iterator(chunk_size=5000)
    ]
    sections = [section.get_absolute_url() for section in Section.objects.all()]
    (directory / "article.txt").write_text("\n".join(articles) + "\n")
    (directory / "article-hot.txt").write_text("\n".join(articles[:HOT_ARTICLES]) + "\n")
    (directory / "section.txt").write_text("\n".join(sections) + "\n")
    return {"articles": len(articles), "sections": len(sections)}


def measure(client, path):
    """Return what one request for ``path`` cost: status, queries, slowest query."""
    with CaptureQueriesContext(connection) as queries:
        try:
            response = client.get(path)
            status, error = response.status_code, ""
        except Exception as exception:  # noqa: BLE001 - reported, not handled
            status, error = 500, f"{type(exception).__name__}: {exception}"
    timed = [(float(query["time"]), query["sql"]) for query in queries.captured_queries]
    slowest = max(timed, default=(0.0, ""))
    return {
        "path": path,
        "status": status,
        "error": error[:500],
        "queries": len(timed),
        "sql_ms": round(sum(seconds for seconds, _ in timed) * 1000, 2),
        "slowest_ms": round(slowest[0] * 1000, 2),
        "slowest_sql": slowest[1],
    }


def count_queries(directory):
    """Return, for each page file in ``directory``, the measurements of a sample of its paths,
    and the query plans of the slowest statements."""
    client = Client(HTTP_HOST="127.0.0.1", raise_request_exception=True)
    # Fill the navigation and site-settings caches as a running site has them.
    measure(client, "/corrections/")
    rng = random.Random(1)
    pages = {}
    for page_file in sorted(directory.glob("*.txt")):
        if "-" in page_file.stem:
            continue  # article-hot.txt and the like are subsets of a page's own file
        paths = [line for line in page_file.read_text().splitlines() if line]
        sample = rng.sample(paths, min(SAMPLE_SIZE, len(paths)))
        pages[page_file.stem] = [measure(client, path) for path in sample]
    plans = {page: explain(requests) for page, requests in pages.items()}
    return {"requests": pages, "plans": plans}


def explain(requests):
    """Return the EXPLAIN ANALYZE plan of the slowest statement among ``requests``."""
    slowest = max(requests, key=lambda request: request["slowest_ms"])
    if not slowest["slowest_sql"].lstrip().upper().startswith("SELECT"):
        return ""
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, COSTS OFF) " + slowest["slowest_sql"])
        return "\n".join(row[0] for row in cursor.fetchall())


def main():
    command, directory = sys.argv[1], Path(sys.argv[2])
    if command == "paths":
        result = write_paths(directory)
    elif command == "count":
        result = count_queries(directory)
    else:
        raise SystemExit(f"Unknown command {command!r}: use paths or count.")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
