"""Email addresses and client addresses as the newsletter stores them.

An email address is kept as the subscriber typed it, except for what is not theirs to
choose: surrounding spaces go, the domain is lower-cased and an internationalised domain
is written in its ASCII (IDNA, "xn--") form, which is what mail servers resolve. The
local part keeps its case, because a few mail servers honour it; uniqueness ignores case.

Client IP addresses are never stored whole: consent records keep the /24 network of an
IPv4 address and the /48 of an IPv6 one, enough to show where a signup came from.
"""

import hashlib
import ipaddress

from django.conf import settings
from django.utils.encoding import punycode

# RFC 5321 caps a forward path at 256 octets, brackets included.
MAX_EMAIL_LENGTH = 254


def normalize_email(value: str) -> str:
    """Return ``value`` stripped, with its domain lower-cased and IDNA-encoded.

    Raise ``ValueError`` when the domain cannot be written in IDNA.
    """
    value = (value or "").strip()
    local, at, domain = value.rpartition("@")
    if not at:
        return value
    domain = domain.strip().lower()
    try:
        domain = punycode(domain)
    except UnicodeError as error:
        raise ValueError(f"The domain {domain!r} is not a valid internationalised name.") from error
    return f"{local}@{domain.lower()}"


def email_fingerprint(email: str) -> str:
    """Return a short, stable, case-insensitive digest of ``email`` for keys and tokens."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:24]


def client_ip(request) -> str:
    """Return the address of the client that sent ``request``.

    Behind a proxy (``BEHIND_PROXY=1``, which sets ``SECURE_PROXY_SSL_HEADER``) the client
    is the last address the proxy added to X-Forwarded-For; anything before it was written
    by the client and cannot be trusted.
    """
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-1]
    return request.META.get("REMOTE_ADDR", "")


def truncated_ip(address: str) -> str:
    """Return the /24 (IPv4) or /48 (IPv6) network of ``address``, or "" if it is not an IP."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return ""
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))
