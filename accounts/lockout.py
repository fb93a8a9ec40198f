"""How django-axes tells one client from another and what a locked-out client is shown."""

import ipaddress

from django.conf import settings
from django.contrib import admin
from django.shortcuts import render


def client_address(request):
    """Return the address failed sign-ins are counted against.

    Without ``BEHIND_PROXY`` that is the connecting peer. Behind ``PROXY_COUNT`` proxies,
    each appending the address it was reached from to X-Forwarded-For, it is the entry the
    outermost proxy wrote: everything left of it came from the client and can be forged.
    """
    remote_address = request.META.get("REMOTE_ADDR", "")
    if not settings.BEHIND_PROXY:
        return remote_address
    forwarded_for = [
        entry.strip()
        for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if entry.strip()
    ]
    if len(forwarded_for) < settings.PROXY_COUNT:
        # The request did not pass every proxy; counting it against the peer errs on the
        # side of locking too much rather than trusting an address the client chose.
        return remote_address
    address = forwarded_for[-settings.PROXY_COUNT]
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        # Not an address (a misconfigured proxy, say): the peer, rather than a value the
        # database would refuse to store.
        return remote_address


def lockout_response(request, original_response=None, credentials=None):
    """Return the page shown to a locked-out client, the same whoever they claimed to be."""
    minutes = settings.LOGIN_COOLOFF_MINUTES
    response = render(
        request,
        "accounts/lockout.html",
        {**admin.site.each_context(request), "title": "Sign-in locked", "minutes": minutes},
        status=429,
    )
    response["Retry-After"] = str(minutes * 60)
    return response
