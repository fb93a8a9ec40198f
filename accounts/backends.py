from axes.backends import AxesStandaloneBackend


class LockoutBackend(AxesStandaloneBackend):
    """django-axes' lockout check, for sign-ins that come with a request.

    A sign-in over HTTP always passes its request, so it is always counted. Code that
    authenticates with no request at all (the test client's ``login()``, a script in the
    shell) has no client to count against; axes would refuse it outright.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
