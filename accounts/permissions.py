"""The one check every service makes before it changes something on a person's behalf."""

from django.core.exceptions import PermissionDenied


def require_permission(user, permission: str, action: str, *, system: bool = False) -> None:
    """Raise ``PermissionDenied`` unless ``user`` holds ``permission``.

    Work the newsroom does on its own (a task worker sending a queued issue, a management
    command) passes ``system=True`` and no user; a missing user is never taken as allowed.
    """
    if system:
        if user is not None:
            raise ValueError("Work done by the system acts for no user; pass user=None.")
        return
    if user is None or not user.has_perm(permission):
        raise PermissionDenied(f"You do not have permission to {action}.")
