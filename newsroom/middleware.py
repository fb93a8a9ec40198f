"""Request checks and response headers Django does not do by itself."""

from django.conf import settings
from django.core.exceptions import SuspiciousOperation


class NulByteInRequest(SuspiciousOperation):
    """A NUL byte in the path or query string: no address of the site can contain one."""


class RejectNulBytesMiddleware:
    """Answer 400 to a request with a NUL byte in its path or query string.

    PostgreSQL refuses NUL in text, so such a value reaching any query (a slug, an admin
    filter) would end in a 500. Django turns ``SuspiciousOperation`` into a 400 and logs
    it to ``django.security``. Form fields already refuse NUL in submitted data.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or any(
            "\x00" in name or any("\x00" in value for value in values)
            for name, values in request.GET.lists()
        ):
            raise NulByteInRequest("NUL byte in the request path or query string.")
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
