"""The production front, for tests: varnishd with the shipped VCL in front of a real gunicorn.

Each is a subprocess in its own session on free loopback ports, stopped by its PID; the
VCL is deploy/varnish/newsroom.vcl, unedited, with a backend.vcl written for the run.
"""

import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from gunicorn.config import KNOWN_SETTINGS

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_VCL = ROOT / "deploy" / "varnish" / "newsroom.vcl"
HOST = "127.0.0.1"
VARNISH_PROGRAMS = ("varnishd", "varnishadm", "varnishstat")
KNOWN_SETTINGS_NAMES = {setting.name for setting in KNOWN_SETTINGS}
# The test gunicorn's, shorter than the default (30 s) so that a test can wait past it:
# beyond it, a soft-purged copy is served only while the backend is down.
STALE_WHILE_REVALIDATE = 2


def program(name):
    """Return the path of ``name``, also looking where Debian puts daemons (not on PATH)."""
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")


def free_port():
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def eventually(check, *, timeout, interval=0.02):
    """Call ``check`` until it returns something true or ``timeout`` seconds pass; return it."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)


# What "at once" means for a change reaching readers through the front.
FRESH_WITHIN_SECONDS = 1.0


def cached(front, path):
    """Fetch ``path`` until it comes from the cache; return that response."""
    response = eventually(lambda: (answer := front.get(path)).cache == "HIT" and answer, timeout=2)
    assert response, f"{path} never came from the cache"
    return response


def shows_within_a_second(front, path, text, *, present=True):
    """Return whether ``path`` shows (or, with ``present=False``, no longer shows) ``text``."""
    return bool(
        eventually(
            lambda: (answer := front.get(path)).status == 200 and (text in answer.text) == present,
            timeout=FRESH_WITHIN_SECONDS,
        )
    )


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    text: str

    @property
    def cache(self):
        return self.headers.get("X-Cache")


def fetch(port, path, *, method="GET", headers=None, body=None, timeout=10):
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        answer = connection.getresponse()
        return Response(answer.status, answer.headers, answer.read().decode("utf-8", "replace"))
    finally:
        connection.close()


def statuses(port, paths):
    """Request ``paths`` one after the other on one kept-alive connection; return the statuses."""
    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        found = []
        for path in paths:
            connection.request("GET", path)
            answer = connection.getresponse()
            answer.read()
            found.append(answer.status)
        return found
    finally:
        connection.close()


class Process:
    """A subprocess in its own session, so that a signal reaches it and its children."""

    name = "process"
    process = None

    def __init__(self, directory):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.log_path = self.directory / f"{self.name}.log"

    def command(self):
        raise NotImplementedError

    def environment(self):
        return None

    def ready(self):
        raise NotImplementedError

    def start(self, *, timeout=30):
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.command(),
                cwd=ROOT,
                env=self.environment(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if not eventually(self.ready_or_dead, timeout=timeout, interval=0.1) or not self.running:
            log_tail = self.log_path.read_text(errors="replace")[-3000:]
            self.stop()
            raise RuntimeError(f"{self.name} did not start; its log ends:\n{log_tail}")

    def ready_or_dead(self):
        return not self.running or self.ready()

    @property
    def running(self):
        return self.process is not None and self.process.poll() is None

    def signal(self, signum):
        """Send ``signum`` to the process and every process it started."""
        os.killpg(self.process.pid, signum)

    def stop(self):
        if not self.running:
            return
        self.signal(signal.SIGCONT)  # a stopped process cannot act on SIGTERM
        self.signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.process.wait()


class Gunicorn(Process):
    name = "gunicorn"

    def __init__(self, directory, environment, *, port=None, workers=2):
        super().__init__(directory)
        self.env = environment
        self.port = port or free_port()
        self.workers = workers
        self.access_log = self.directory / "access.log"

    def command(self):
        command = [
            sys.executable, "-m", "gunicorn", "newsroom.wsgi",
            "--bind", f"{HOST}:{self.port}", "--workers", str(self.workers),
            "--access-logfile", str(self.access_log),
        ]  # fmt: skip
        if "control_socket_disable" in KNOWN_SETTINGS_NAMES:
            # gunicorn 27 opens one control socket per user; other servers would share it.
            command.append("--no-control-socket")
        return command

    def environment(self):
        return self.env

    def ready(self):
        try:
            return fetch(self.port, "/healthz", headers={"Host": HOST}, timeout=2).status == 200
        except OSError:
            return False

    def forget_requests(self):
        # gunicorn appends (O_APPEND), so its next line lands at the start of the emptied file.
        if self.access_log.exists():
            self.access_log.write_text("")

    def requests_for(self, path, method="GET"):
        """Return how many requests for ``path`` (with its query string) reached gunicorn.

        A worker logs a request just after answering it, so the count is read until it
        has stayed the same for a moment.
        """
        marker = f'"{method} {path} '
        counts = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and (len(counts) < 6 or len(set(counts[-6:])) > 1):
            lines = self.access_log.read_text().splitlines() if self.access_log.exists() else []
            counts.append(sum(marker in line for line in lines))
            time.sleep(0.05)
        return counts[-1]


class Varnish(Process):
    name = "varnishd"

    def __init__(self, directory, *, backend_port, port=None, memory="64m"):
        super().__init__(directory)
        self.port = port or free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.workdir = self.directory / "workdir"
        self.include_dir = self.directory / "include"
        self.include_dir.mkdir(parents=True, exist_ok=True)
        self.memory = memory
        # The shipped policy, pointed at this run's gunicorn; the acl lets the tests purge.
        (self.include_dir / "backend.vcl").write_text(
            "backend default {\n"
            f'    .host = "{HOST}";\n'
            f'    .port = "{backend_port}";\n'
            f'    .host_header = "{HOST}";\n'
            "    .probe = newsroom_health;\n"
            "    .first_byte_timeout = 10s;\n"
            "}\n"
            'acl purgers { "127.0.0.1"; }\n'
        )

    def command(self):
        return [
            program("varnishd"), "-F", "-j", "none", "-n", str(self.workdir),
            "-a", f"{HOST}:{self.port}", "-f", str(SHIPPED_VCL),
            "-p", f"vcl_path={self.include_dir}", "-s", f"malloc,{self.memory}",
        ]  # fmt: skip

    def ready(self):
        try:
            return fetch(self.port, "/healthz", timeout=2).status == 200
        except OSError:
            return False

    def admin(self, *command):
        return subprocess.run(
            [program("varnishadm"), "-n", str(self.workdir), *command],
            check=True,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout

    def empty(self):
        """Make every stored object unusable at once (the ban lurker frees them later)."""
        self.admin("ban", "obj.status != 0")

    def backend_is_healthy(self):
        listing = self.admin("backend.list")
        return bool(re.search(r"\shealthy\s", listing))

    def counter(self, name):
        output = subprocess.run(
            [program("varnishstat"), "-n", str(self.workdir), "-1", "-f", name],
            check=True,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout
        return int(output.split()[1])


class FailingApplication:
    """Stands in for the application when its pages fail (a bug, a broken template) while
    /healthz still answers, which the real one cannot be made to do on demand.

    Pages carry the application's headers, with lifetimes short enough to wait out, and
    say which version of them was rendered; with ``failing`` set they answer 500.
    """

    FRONT_SECONDS = 1
    STALE_WHILE_REVALIDATE = 1

    def __init__(self):
        self.failing = False
        self.version = 1
        application = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                if self.path == "/healthz":
                    self.answer(200, b'{"status": "ok"}', {"Cache-Control": "no-cache"})
                elif application.failing:
                    self.answer(500, b"<h1>Server Error (500)</h1>", {})
                else:
                    self.answer(
                        200,
                        f"<p>{self.path} version {application.version}</p>".encode(),
                        {
                            "Cache-Control": "public, max-age=60",
                            "Surrogate-Control": (
                                f"max-age={application.FRONT_SECONDS}, stale-while-revalidate="
                                f"{application.STALE_WHILE_REVALIDATE}, stale-if-error=86400"
                            ),
                            "xkey": "site stories",
                        },
                    )

            def answer(self, status, body, headers):
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.port = self.server.server_address[1]

    def start(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
