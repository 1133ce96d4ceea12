"""On PostgreSQL, a trigram index over the leads still `new` only.

The table's busiest view is a search among new leads (`?status=new&q=price`). With only the
whole-store trigram index, PostgreSQL finds the word's matches among every lead (156,600 of
a million for "price": ~18 ms building the bitmap) to keep the few hundred that are new, for
the page and again for its count. This index holds the new leads alone (a few thousand), so
the same search reads a bitmap of its own matches (0.2 ms at a million leads). A lead leaves
it when it moves on: a move out of `new` adds no entry, so bulk moves cost no more.
SQLite has no such index; there the search scans, which is fine at its scale.
"""

from django.db import migrations


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS lead_new_search_trgm "
        "ON leads_lead USING gin (search_text gin_trgm_ops) WHERE lead_status = 'new'"
    )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS lead_new_search_trgm")


class Migration(migrations.Migration):
    dependencies = [("leads", "0025_lead_group_fk_without_index")]

    operations = [migrations.RunPython(create_index, drop_index)]
