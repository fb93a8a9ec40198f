"""What the benchmarks that run Django in their own process share (bench/newsletter.py,
bench/editing.py): a database made anew, production-like settings, and their section of
docs/benchmarks.md."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVER = "postgres://postgres@127.0.0.1:5432"


def prepare_environment(database: str, **environment: str) -> None:
    """Drop and re-create ``database`` on the local PostgreSQL; point Django's settings at it.

    Production settings (``DEBUG=0``) with a bench-only secret, plain HTTP and tasks run in
    the request; ``environment`` adds to them or overrides them.
    """
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{database}"')
        connection.execute(f'CREATE DATABASE "{database}"')
    os.environ.update(
        {
            "DATABASE_URL": f"{SERVER}/{database}",
            "DEBUG": "0",
            "SECRET_KEY": "bench-only-" + "b" * 40,
            "ALLOWED_HOSTS": "testserver,127.0.0.1",
            "SECURE_SSL_REDIRECT": "0",
            "TASKS_BACKEND": "immediate",
            "DJANGO_SETTINGS_MODULE": "newsroom.settings",
            **environment,
        }
    )
    sys.path.insert(0, str(ROOT))


def replace_section(path: Path, heading: str, body: str) -> None:
    """Write ``body`` as the ``## heading`` section of the page at ``path``, keeping the others."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    before, _, after = text.partition(f"\n## {heading}\n")
    following = after.find("\n## ")
    rest = after[following:] if following >= 0 else ""
    path.write_text(before.rstrip() + "\n" + f"\n## {heading}\n\n{body.strip()}\n" + rest)
