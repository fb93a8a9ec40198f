"""The servers bench/run.py starts: gunicorn, varnishd and its log readers, nginx.

Each is a context manager: the ``with`` block starts the process on 127.0.0.1, waits until
it answers, and stops it by its PID (SIGTERM, then SIGKILL after 30 s) when the block
ends, however it ends. Logs and generated configuration go under the directory given.
"""

import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
# The Varnish counters bench/run.py reads around each run through the front cache.
VARNISH_COUNTERS = (
    "MAIN.client_req", "MAIN.cache_hit", "MAIN.cache_hit_grace", "MAIN.cache_miss",
    "MAIN.cache_hitmiss", "MAIN.cache_hitpass", "MAIN.s_pass", "MAIN.s_synth",
    "MAIN.backend_req", "MAIN.n_expired", "MAIN.n_lru_nuked",
)  # fmt: skip


def free_port():
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def answers(url, timeout=2):
    """Return the status ``url`` answers with, or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (OSError, urllib.error.URLError):
        return None


def program_version(command, pattern):
    banner = subprocess.run(command, capture_output=True, text=True)
    match = re.search(pattern, banner.stdout + banner.stderr)
    return match.group(1) if match else "unknown"


class Service:
    """A process started by a ``with`` block and stopped by its PID when the block ends."""

    name = "service"
    url = ""
    ready_path = "/"
    environment = None

    def __init__(self, log_path):
        self.log_path = log_path
        self.process = None
        self.log = None

    def command(self):
        raise NotImplementedError

    def __enter__(self):
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            self.command(),
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
                raise RuntimeError(f"{self.name} exited at start; see {self.log_path}")
            if self.is_ready():
                return
            time.sleep(0.25)
        raise RuntimeError(f"{self.name} was not ready within {timeout} s; see {self.log_path}")

    def is_ready(self):
        return answers(self.url + self.ready_path) == 200

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.log and not self.log.closed:
            self.log.close()


class Gunicorn(Service):
    """gunicorn serving the site with ``workers`` sync workers on a free port."""

    name = "gunicorn"
    ready_path = "/healthz"

    def __init__(self, environment, log_path, *, workers):
        super().__init__(log_path)
        self.environment = environment
        self.workers = workers
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"

    def command(self):
        return [
            sys.executable, "-m", "gunicorn", "newsroom.wsgi",
            "--bind", f"{HOST}:{self.port}", "--workers", str(self.workers),
            "--log-level", "warning",
        ]  # fmt: skip

    def error_lines(self):
        """Return the errors Django logged while serving (500s show up here)."""
        return [
            line.strip()
            for line in self.log_path.read_text(errors="replace").splitlines()
            if "Internal Server Error" in line or line.startswith(("Traceback", "ERROR"))
        ]


class TaskWorker(Service):
    """``manage.py db_worker`` on every queue, as production runs it beside gunicorn."""

    name = "db_worker"

    def __init__(self, environment, log_path):
        super().__init__(log_path)
        self.environment = environment

    def command(self):
        return [
            sys.executable, "manage.py", "db_worker", "--queue-name", "*", "--no-reload",
            "--no-startup-delay",
        ]  # fmt: skip

    def is_ready(self):
        return True


class Varnish(Service):
    """varnishd with ``vcl`` in front of gunicorn, in its own working directory.

    The VCL includes ``backend.vcl``, found on vcl_path before the VCL's own directory.
    The one written here points at the bench gunicorn, probes its health check with the
    VCL's own probe when it defines one, and lets 127.0.0.1 purge (the ``purgers`` acl).
    """

    name = "varnishd"
    # Passed to gunicorn: answered once the VCL is loaded and the probe finds it healthy.
    ready_path = "/healthz"

    def __init__(self, vcl, backend_port, work_dir, *, storage):
        super().__init__(work_dir / "varnishd.log")
        self.vcl = vcl
        self.storage = storage
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.workdir = work_dir / "varnish"
        self.include_dir = work_dir / "varnish-include"
        self.include_dir.mkdir(parents=True, exist_ok=True)
        named_probe = re.search(r"(?m)^\s*probe\s+(\w+)\s*\{", vcl.read_text())
        probe = (
            f"{named_probe.group(1)};"
            if named_probe
            else '{ .url = "/healthz"; .interval = 1s; .timeout = 2s; .window = 5; '
            ".threshold = 3; .initial = 3; }"
        )
        (self.include_dir / "backend.vcl").write_text(
            "# Written by bench/run.py for one run: the bench gunicorn, and who may purge.\n"
            "backend default {\n"
            f'    .host = "{HOST}";\n'
            f'    .port = "{backend_port}";\n'
            f"    .probe = {probe}\n"
            "}\n"
            "\n"
            f'acl purgers {{ "{HOST}"; }}\n'
        )

    def command(self):
        return [
            "varnishd", "-F", "-n", str(self.workdir), "-a", f"{HOST}:{self.port}",
            "-f", str(self.vcl), "-p", f"vcl_path={self.include_dir}:{self.vcl.parent}",
            "-s", self.storage,
        ]  # fmt: skip

    def counters(self):
        completed = subprocess.run(
            ["varnishstat", "-n", str(self.workdir), "-1", "-j"],
            check=True,
            capture_output=True,
            text=True,
        )
        found = json.loads(completed.stdout)
        found = found.get("counters", found)
        return {name: found[name]["value"] for name in VARNISH_COUNTERS if name in found}

    @staticmethod
    def version():
        return program_version(["varnishd", "-V"], r"varnish-([\d.]+)")


class VarnishLog(Service):
    """varnishncsa writing one line per client request, or per backend fetch, of ``front``.

    Reading the shared log costs CPU for every request, so keep it running only while
    its lines are needed.
    """

    name = "varnishncsa"

    def __init__(self, front, log_format, output, *, backend=False):
        super().__init__(output.with_suffix(".err"))
        self.front = front
        self.backend = backend
        self.log_format = log_format
        self.output = output
        self.output.unlink(missing_ok=True)

    def command(self):
        return [
            "varnishncsa", "-n", str(self.front.workdir), "-b" if self.backend else "-c",
            "-F", self.log_format, "-w", str(self.output),
        ]  # fmt: skip

    def is_ready(self):
        return self.output.exists()

    def stop(self):
        if self.process and self.process.poll() is None:
            time.sleep(1)  # it reads the shared log a little behind; let it catch up
        super().stop()

    def lines(self):
        return self.output.read_text(errors="replace").splitlines()


class VarnishHealth(Service):
    """varnishlog writing every health probe of ``front``'s backend to ``output``."""

    name = "varnishlog"

    def __init__(self, front, output):
        super().__init__(output)
        self.front = front

    def command(self):
        return [
            "varnishlog", "-n", str(self.front.workdir), "-g", "raw", "-i", "Backend_health",
        ]  # fmt: skip

    def is_ready(self):
        return True

    def stop(self):
        if self.process and self.process.poll() is None:
            time.sleep(1)
        super().stop()

    def sickness(self):
        """Return how many probes were logged, how many found the backend sick, and how
        often it went from healthy to sick."""
        lines = [line for line in self.log_path.read_text(errors="replace").splitlines() if line]
        return {
            "probes": sum("Backend_health" in line for line in lines),
            "sick": sum(("Went sick" in line or "Still sick" in line) for line in lines),
            "went_sick": sum("Went sick" in line for line in lines),
        }


class Nginx(Service):
    """nginx answering every path with one saved page, as a plain file: the static ceiling.

    ``page`` is the page as the front cache sends it to a browser; with a ``.gz`` copy
    beside it, nginx sends those same gzipped bytes (gzip_static) to clients that accept
    them.
    """

    name = "nginx"

    def __init__(self, page, root):
        shutil.rmtree(root, ignore_errors=True)
        (root / "temp").mkdir(parents=True)
        super().__init__(root / "error.log")
        self.root = root
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        shutil.copy(page, root / "page.html")
        if page.with_suffix(".html.gz").exists():
            shutil.copy(page.with_suffix(".html.gz"), root / "page.html.gz")
        temp = root / "temp"
        # Run as root, nginx would hand its workers to "nobody", who may not read var/.
        user = f"user {pwd.getpwuid(os.getuid()).pw_name};\n" if os.getuid() == 0 else ""
        (root / "nginx.conf").write_text(
            "# Written by bench/run.py for one run.\n"
            "daemon off;\n"
            "master_process on;\n"
            f"worker_processes {os.cpu_count() or 1};\n"
            f"{user}"
            f"pid {root / 'nginx.pid'};\n"
            f"error_log {root / 'error.log'} warn;\n"
            "events { worker_connections 1024; }\n"
            "http {\n"
            "    access_log off;\n"
            "    sendfile on;\n"
            "    keepalive_requests 1000000;\n"
            "    gzip_static on;\n"
            f"    client_body_temp_path {temp};\n"
            f"    proxy_temp_path {temp};\n"
            f"    fastcgi_temp_path {temp};\n"
            f"    uwsgi_temp_path {temp};\n"
            f"    scgi_temp_path {temp};\n"
            "    server {\n"
            f"        listen {HOST}:{self.port};\n"
            f"        root {root};\n"
            "        default_type text/html;\n"
            "        location / { try_files /page.html =404; }\n"
            "    }\n"
            "}\n"
        )

    def command(self):
        return [
            "nginx", "-p", str(self.root), "-c", str(self.root / "nginx.conf"),
            "-e", str(self.root / "error.log"),
        ]  # fmt: skip

    @staticmethod
    def version():
        return program_version(["nginx", "-v"], r"nginx/([\d.]+)")
