"""Load generator for bench/run.py when wrk is not installed, and the cache primer.

    python bench/load.py run  http://127.0.0.1:8000 PATHS_FILE --connections 8 --duration 10
    python bench/load.py prime http://127.0.0.1:8000 PATHS_FILE --budget 60 --output PRIMED

``run`` sends GET requests for random paths from the file on each connection until the
time or the request budget is spent, and prints one ``BENCH_JSON {...}`` line with the
same fields as bench/paths.lua. ``prime`` requests each path once, in order, for at most
``--budget`` seconds, and writes the paths that answered 200 to ``--output``: run through
Varnish, it warms the front cache, and a run over those paths measures cache hits. Threads
share one interpreter, so this generator saturates sooner than wrk: its figures are a
floor, not a like-for-like replacement.
"""

import argparse
import http.client
import json
import random
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

REQUEST_TIMEOUT = 10
FAILED = 0
TIMED_OUT = -1
MAX_REQUESTS = 200_000


def read_paths(path):
    with open(path, encoding="utf-8") as file:
        paths = [line.strip() for line in file if line.strip()]
    if not paths:
        raise SystemExit(f"No paths in {path}.")
    return paths


def fetch(host, port, path):
    """Return (status, X-Cache header, seconds) for one GET of ``path``.

    The status is TIMED_OUT when no answer came within REQUEST_TIMEOUT, and FAILED when
    the connection broke.
    """
    started = time.perf_counter()
    connection = http.client.HTTPConnection(host, port, timeout=REQUEST_TIMEOUT)
    try:
        # As browsers do, and as bench/paths.lua does.
        connection.request("GET", path, headers={"Accept-Encoding": "gzip"})
        response = connection.getresponse()
        response.read()
        return response.status, response.getheader("X-Cache"), time.perf_counter() - started
    except TimeoutError:
        return TIMED_OUT, None, time.perf_counter() - started
    except (OSError, http.client.HTTPException):
        return FAILED, None, time.perf_counter() - started
    finally:
        connection.close()


def cache_state(x_cache):
    """Return hit, miss or pass from an X-Cache header (HIT, HIT-GRACE, miss…), else None."""
    value = (x_cache or "").lower()
    if value.startswith("hit"):
        return "hit"
    return next((state for state in ("miss", "pass") if value.startswith(state)), None)


def percentile(sorted_values, share):
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(share * len(sorted_values)) - 1))
    return sorted_values[index]


def run(url, paths, *, connections, duration, pause_ms=0, max_requests=MAX_REQUESTS):
    """Return the results of ``connections`` concurrent loops of GETs, as bench/paths.lua does,
    each connection pausing ``pause_ms`` before each request."""
    target = urlsplit(url)
    deadline = time.monotonic() + duration
    lock = threading.Lock()
    latencies, statuses, cache_states = [], [], []
    budget = iter(range(max_requests))

    def loop(seed):
        rng = random.Random(seed)
        mine = []
        while time.monotonic() < deadline:
            with lock:
                if next(budget, None) is None:
                    break
            if pause_ms:
                time.sleep(pause_ms / 1000)
            mine.append(fetch(target.hostname, target.port, rng.choice(paths)))
        with lock:
            for status, cache_state, seconds in mine:
                statuses.append(status)
                cache_states.append(cache_state)
                if status > 0:
                    latencies.append(seconds * 1000)

    started = time.monotonic()
    threads = [threading.Thread(target=loop, args=(seed,)) for seed in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    latencies.sort()
    states = [cache_state(value) for value in cache_states]
    answered = [status for status in statuses if status > 0]
    return {
        "tool": "python",
        "requests": len(answered),
        "duration_s": elapsed,
        "p50_ms": percentile(latencies, 0.50),
        "p95_ms": percentile(latencies, 0.95),
        "p99_ms": percentile(latencies, 0.99),
        "max_ms": latencies[-1] if latencies else 0.0,
        "socket_errors": statuses.count(FAILED),
        "timeouts": statuses.count(TIMED_OUT),
        "hits": states.count("hit"),
        "misses": states.count("miss"),
        "passes": states.count("pass"),
        **{
            f"status_{digit}xx": sum(1 for status in answered if status // 100 == digit)
            for digit in (2, 3, 4, 5)
        },
    }


def prime(url, paths, *, connections, budget):
    """Request each path once, in order, for up to ``budget`` seconds; return those answered 200."""
    target = urlsplit(url)
    deadline = time.monotonic() + budget

    def fetch_in_time(path):
        if time.monotonic() >= deadline:
            return None
        return fetch(target.hostname, target.port, path)[0]

    with ThreadPoolExecutor(max_workers=connections) as pool:
        statuses = list(pool.map(fetch_in_time, paths))
    return [path for path, status in zip(paths, statuses, strict=True) if status == 200]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["run", "prime"])
    parser.add_argument("url")
    parser.add_argument("paths_file")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--pause-ms", type=float, default=0, help="Pause before each request.")
    parser.add_argument("--budget", type=float, default=60, help="Seconds to prime for.")
    parser.add_argument("--output", help="File to write the primed paths to.")
    args = parser.parse_args()
    paths = read_paths(args.paths_file)
    if args.mode == "prime":
        primed = prime(args.url, paths, connections=args.connections, budget=args.budget)
        if args.output:
            with open(args.output, "w", encoding="utf-8") as file:
                file.writelines(f"{path}\n" for path in primed)
        print(f"primed {len(primed)}/{len(paths)}")
        return
    results = run(
        args.url,
        paths,
        connections=args.connections,
        duration=args.duration,
        pause_ms=args.pause_ms,
    )
    sys.stdout.write(f"BENCH_JSON {json.dumps(results)}\n")


if __name__ == "__main__":
    main()
