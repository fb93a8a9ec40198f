from django.db import migrations


class Migration(migrations.Migration):
    """SiteSettings moved to the publication app, which keeps its table as it is."""

    dependencies = [
        ("newsroom", "0002_site_design"),
        ("publication", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="SiteSettings")],
            database_operations=[],
        ),
    ]
