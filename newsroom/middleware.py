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


class NulBytesMiddleware:
    """Answer 400 to a NUL byte in the path, and take NUL bytes out of the query string.

    PostgreSQL refuses NUL in text, so such a value reaching a query (a slug, an admin
    filter, a search) would end in a 500. No address of the site holds one, so the path
    is refused: Django turns ``SuspiciousOperation`` into a 400 and logs it to
    ``django.security``. A query string is what someone typed, so its NUL bytes are
    dropped and the page answers as usual; form fields refuse NUL in submitted data.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path:
            raise NulByteInPath("NUL byte in the request path.")
        if "%00" in request.META.get("QUERY_STRING", ""):
            request.GET = query_without_nul_bytes(request.GET)
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
