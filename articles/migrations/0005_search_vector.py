"""Store each story's weighted full-text search vector, indexed with GIN on PostgreSQL.

The column is created everywhere (SQLite takes any type name); the GIN index and the
backfill are PostgreSQL's alone, and other databases skip them, as ``CreateExtension``
does. From here on ``articles/signals.py`` keeps the vector current.
"""

import django.contrib.postgres.search
from django.db import migrations


class RunSQLOnPostgreSQL(migrations.RunSQL):
    """Run SQL on PostgreSQL only; on other databases do nothing, forwards or backwards."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)

    def describe(self):
        return "Raw SQL on PostgreSQL only"


CREATE_INDEX = "CREATE INDEX article_search_vector ON articles_article USING gin (search_vector)"
DROP_INDEX = "DROP INDEX IF EXISTS article_search_vector"

# articles.search.search_vector() written out as SQL at the time of this migration, so
# that replaying it never depends on later code; tests/articles/test_search.py checks
# that both give the same vector. One UPDATE, which holds the stories' row locks until
# the migration commits: about 140 s for 100,000 generated stories, then 10 s for the
# index, on a small shared machine.
BACKFILL = """
UPDATE articles_article AS article SET search_vector =
    setweight(to_tsvector('english', coalesce(article.headline, '')), 'A')
    || setweight(to_tsvector('english', coalesce(article.dek, '')), 'B')
    || setweight(to_tsvector('english', coalesce(article.body, '')), 'C')
    || setweight(to_tsvector('english',
        coalesce((
            SELECT string_agg(author.name, ' ' ORDER BY byline.position, byline.id)
            FROM articles_articleauthor AS byline
            JOIN articles_author AS author ON author.id = byline.author_id
            WHERE byline.article_id = article.id
        ), '')
        || ' ' || coalesce(article.byline, '') || ' '
        || coalesce((
            SELECT string_agg(tag.name, ' ' ORDER BY tag.name)
            FROM articles_article_tags AS article_tag
            JOIN articles_tag AS tag ON tag.id = article_tag.tag_id
            WHERE article_tag.article_id = article.id
        ), '')), 'D')
"""


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0004_article_redirects"),
    ]

    operations = [
        migrations.AddField(
            model_name="article",
            name="search_vector",
            field=django.contrib.postgres.search.SearchVectorField(editable=False, null=True),
        ),
        # Filled first, then indexed: building a GIN index in one go is much faster than
        # growing it row by row.
        RunSQLOnPostgreSQL(sql=BACKFILL, reverse_sql=migrations.RunSQL.noop),
        RunSQLOnPostgreSQL(sql=CREATE_INDEX, reverse_sql=DROP_INDEX),
    ]
