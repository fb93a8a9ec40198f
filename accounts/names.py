"""How the newsroom names its staff to each other."""


def display_name(user, *, nobody: str = "someone") -> str:
    """Return ``user``'s full name, else their username; ``nobody`` when there is no user."""
    if user is None:
        return nobody
    return user.get_full_name() or user.get_username()
