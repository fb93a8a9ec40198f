"""The fronts that cache pages and how each is sent a purge: Varnish (xkey) and, when
configured, a CDN.

Each front is a backend with one job, ``send(keys, hard)``, in the request format its
documentation gives:

- **Varnish** (``VARNISH_URLS``): ``PURGE /`` with ``xkey-purge: k1 k2`` (hard: gone at
  once) or ``xkey-softpurge: k1 k2`` (stale while the fresh page renders), answered by
  ``deploy/varnish/newsroom.vcl``. Sent straight after the commit, with a short timeout:
  about a millisecond for a Varnish on the same network.
- **Fastly** (``CDN_PURGE=fastly``): ``POST {FASTLY_API_URL}/service/{FASTLY_SERVICE_ID}/purge``
  with ``Fastly-Key`` and ``Surrogate-Key: k1 k2`` (at most 256 keys a request), plus
  ``Fastly-Soft-Purge: 1`` for a soft purge.
- **Cloudflare** (``CDN_PURGE=cloudflare``): ``POST
  {CLOUDFLARE_API_URL}/zones/{CLOUDFLARE_ZONE_ID}/purge_cache`` with ``Authorization:
  Bearer …`` and ``{"tags": [...]}`` (at most 30 tags a request); Cloudflare has no soft purge.

``frontcache.purge`` decides which of them hears of a purge at once and which through the
task queue (``frontcache.tasks``).
"""

import json
import urllib.error
import urllib.request
from dataclasses import dataclass

from django.conf import settings


class PurgeFailed(Exception):
    pass


def batches(keys, size):
    keys = sorted(keys)
    for start in range(0, len(keys), size):
        yield keys[start : start + size]


def request(url, *, method, headers, body=None, timeout):
    """Send one HTTP request; raise PurgeFailed unless the front answers 2xx."""
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, data=body, method=method, headers=headers),
            timeout=timeout,
        ) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        raise PurgeFailed(f"{url} answered {error.code} {error.reason}") from error
    except (OSError, ValueError) as error:
        raise PurgeFailed(f"{url} did not answer: {error}") from error


@dataclass(frozen=True)
class Varnish:
    url: str
    remote = False
    batch_size = 100  # keeps the header well under Varnish's 8 KB limit

    @property
    def name(self):
        return f"varnish {self.url}"

    def send(self, keys, *, hard):
        header = "xkey-purge" if hard else "xkey-softpurge"
        for batch in batches(keys, self.batch_size):
            request(
                self.url.rstrip("/") + "/",
                method="PURGE",
                headers={header: " ".join(batch)},
                timeout=settings.PURGE_TIMEOUT,
            )


@dataclass(frozen=True)
class Fastly:
    remote = True
    name = "fastly"
    batch_size = 256

    def send(self, keys, *, hard):
        url = f"{settings.FASTLY_API_URL.rstrip('/')}/service/{settings.FASTLY_SERVICE_ID}/purge"
        for batch in batches(keys, self.batch_size):
            headers = {
                "Fastly-Key": settings.FASTLY_API_TOKEN,
                "Surrogate-Key": " ".join(batch),
                "Accept": "application/json",
            }
            if not hard:
                headers["Fastly-Soft-Purge"] = "1"
            request(url, method="POST", headers=headers, timeout=settings.CDN_PURGE_TIMEOUT)


@dataclass(frozen=True)
class Cloudflare:
    remote = True
    name = "cloudflare"
    batch_size = 30

    def send(self, keys, *, hard):
        url = (
            f"{settings.CLOUDFLARE_API_URL.rstrip('/')}/zones/"
            f"{settings.CLOUDFLARE_ZONE_ID}/purge_cache"
        )
        for batch in batches(keys, self.batch_size):
            _, body = request(
                url,
                method="POST",
                headers={
                    "Authorization": f"Bearer {settings.CLOUDFLARE_API_TOKEN}",
                    "Content-Type": "application/json",
                },
                body=json.dumps({"tags": batch}).encode(),
                timeout=settings.CDN_PURGE_TIMEOUT,
            )
            try:
                answer = json.loads(body or b"{}")
            except ValueError:
                answer = {}
            if not answer.get("success"):
                raise PurgeFailed(f"Cloudflare refused the purge: {answer.get('errors') or body!r}")


CDNS = {"fastly": Fastly(), "cloudflare": Cloudflare()}


def backends():
    """Return the fronts this deployment purges, from the settings."""
    found = [Varnish(url) for url in settings.VARNISH_URLS]
    if settings.CDN_PURGE:
        found.append(CDNS[settings.CDN_PURGE])
    return found


def backend_named(name):
    for backend in backends():
        if backend.name == name:
            return backend
    return None
