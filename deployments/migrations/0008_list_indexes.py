# Indexes for the deployments list page.
#
# Portable (in the models' Meta): partial indexes over deployments that are not archived,
# which the list hides by default; pull requests by number; links from pull request to
# deployment (the search's expansion reads that index alone).
# PostgreSQL only (below, not in the models, so that the models stay valid on SQLite):
# pg_trgm and trigram GIN indexes on UPPER(...) of the columns the text search matches
# with `icontains` (Django writes that as `UPPER(col::text) LIKE UPPER(%s)`). Without
# them a search scanned all 87,040 titles at 100,000 deployments (73 ms); with them the
# match set came from the indexes in under 3 ms.

from django.db import migrations, models

# (index name, model, column). Written as SQL: `OpClass` inside an index expression needs
# django.contrib.postgres in INSTALLED_APPS, which this reusable app does not require.
TRIGRAM_INDEXES = (
    ("pull_request_title_trgm", "pullrequest", "title"),
    ("pull_request_author_trgm", "pullrequest", "author"),
    ("flag_reference_key_trgm", "flagreference", "flag_key"),
)


def add_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # pg_trgm is a trusted extension (PostgreSQL 13+): a database owner may create it.
    # (Not `TrigramExtension()`: its reverse queries pg_extension on any database.)
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    quote = schema_editor.quote_name
    for name, model_name, column in TRIGRAM_INDEXES:
        table = apps.get_model("deployments", model_name)._meta.db_table
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {quote(name)} ON {quote(table)} "
            f"USING gin (UPPER({quote(column)}) gin_trgm_ops)"
        )


def remove_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _, _ in TRIGRAM_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


class Migration(migrations.Migration):

    dependencies = [
        ('deployments', '0007_api_token_name'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='deployment',
            index=models.Index(condition=models.Q(('archived', False)), fields=['-started_at', '-id'], name='deployment_live_started_idx'),
        ),
        migrations.AddIndex(
            model_name='deployment',
            index=models.Index(condition=models.Q(('archived', False)), fields=['project_key', 'environment_key', '-started_at', '-id'], name='deployment_live_scope_idx'),
        ),
        migrations.AddIndex(
            model_name='pullrequest',
            index=models.Index(fields=['external_id'], name='pull_request_external_id_idx'),
        ),
        migrations.AddIndex(
            model_name='deploymentpullrequest',
            index=models.Index(fields=['pull_request', 'deployment'], name='pull_request_deployment_idx'),
        ),
        # Does nothing outside PostgreSQL; the reverse leaves pg_trgm installed.
        migrations.RunPython(add_trigram_indexes, remove_trigram_indexes, elidable=False),
    ]
