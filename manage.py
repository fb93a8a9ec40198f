#!/usr/bin/env python
"""Run Django administrative tasks for Newsroom."""

import os
import sys

DEVELOPMENT_NOTICE = (
    "Development settings (DEBUG=1, tasks run at once): the environment sets no SECRET_KEY, "
    "no DEBUG and no database server. Set SECRET_KEY for production.\n"
)


def names_no_production(environment):
    """Return whether ``environment`` sets no DEBUG, no SECRET_KEY and no server database."""
    return (
        not environment.get("DEBUG", "").strip()
        and not environment.get("SECRET_KEY")
        and environment.get("DATABASE_URL", "sqlite:").startswith("sqlite:")
    )


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsroom.settings")
    if names_no_production(os.environ):
        # A command typed in a checkout, such as the README's import_article, runs as under
        # `make run`. A production shell has SECRET_KEY (or a database server in
        # DATABASE_URL, with which a forgotten key still stops the command), and web servers load
        # newsroom/wsgi.py, never this file, so they still refuse to start without a key.
        os.environ["DEBUG"] = "1"
        os.environ.setdefault("TASKS_BACKEND", "immediate")
        sys.stderr.write(DEVELOPMENT_NOTICE)
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
