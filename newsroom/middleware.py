"""Request checks and response headers Django does not do by itself."""

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.http import QueryDict


class NulByteInPath(SuspiciousOperation):
    """A NUL byte in the request path: no address of the site can contain one."""


def query_without_nul_bytes(query: QueryDict) -> QueryDict:
    """Return a copy of ``query`` with every NUL byte taken out of its names and values."""
    cleaned = QueryDict(mutable=True)
    for name, values in query.lists():
        cleaned.setlist(name.replace("\x00", ""), [value.replace("\x00", "") for value in values])
    cleaned._mutable = False
    return cleaned


class RejectNulBytesMiddleware:
    """Answer 400 to a request whose path holds a NUL byte.

    PostgreSQL refuses NUL in text, so such a slug reaching a query would end in a 500.
    Django turns ``SuspiciousOperation`` into a 400 and logs it to ``django.security``.
    The query string is left to the views: search drops NUL from what a reader typed
    and still shows its page, and form fields refuse NUL with a message.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path:
            raise NulByteInPath("NUL byte in the request path.")
        return self.get_response(request)


class PermissionsPolicyMiddleware:
    """Send a Permissions-Policy header that turns off browser features the site never uses."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if settings.PERMISSIONS_POLICY:
            response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response
