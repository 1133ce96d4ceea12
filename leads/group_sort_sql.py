"""The triggers that keep `Lead.group_sort_name` equal to its group's lower-cased name.

The table's group sort reads `(group_sort_name, newest first)` from an index; ordering by the
joined group's name instead sorts every lead (3-5 s at 1,000,000). The database keeps the
copy, so every write path is covered (the ORM, bulk_create, COPY, INSERT … SELECT):
- a lead inserted, or moved to another group, takes its group's name;
- a group renamed passes its new name to its leads (one UPDATE; renames are rare).
PostgreSQL only. On SQLite (the embedded store, for one team's leads) the group sorts join
the group as before: a trigger there on the groups table that names `leads_lead` makes
every later migration that rebuilds `leads_lead` fail (SQLite re-reads all triggers when
the rebuilt table is renamed into place), so the column stays empty and unused there.
Installed by migration 0020.
"""

POSTGRESQL_INSTALL = [
    """
    CREATE OR REPLACE FUNCTION leads_lead_group_sort() RETURNS trigger
    LANGUAGE plpgsql AS $$ BEGIN
    NEW.group_sort_name := COALESCE(
        (SELECT lower(name) FROM leads_monitoredgroup WHERE id = NEW.source_group_id), '');
    RETURN NEW; END $$;
    CREATE OR REPLACE FUNCTION leads_group_renamed() RETURNS trigger
    LANGUAGE plpgsql AS $$ BEGIN
    UPDATE leads_lead SET group_sort_name = lower(NEW.name) WHERE source_group_id = NEW.id;
    RETURN NULL; END $$;
    """,
    """
    CREATE TRIGGER leads_lead_group_sort BEFORE INSERT OR UPDATE OF source_group_id
    ON leads_lead FOR EACH ROW EXECUTE FUNCTION leads_lead_group_sort()
    """,
    """
    CREATE TRIGGER leads_group_renamed AFTER UPDATE OF name ON leads_monitoredgroup
    FOR EACH ROW WHEN (lower(OLD.name) IS DISTINCT FROM lower(NEW.name))
    EXECUTE FUNCTION leads_group_renamed()
    """,
]
POSTGRESQL_UNINSTALL = [
    "DROP TRIGGER IF EXISTS leads_lead_group_sort ON leads_lead",
    "DROP TRIGGER IF EXISTS leads_group_renamed ON leads_monitoredgroup",
    "DROP FUNCTION IF EXISTS leads_lead_group_sort()",
    "DROP FUNCTION IF EXISTS leads_group_renamed()",
]

INSTALL = {"postgresql": POSTGRESQL_INSTALL}
UNINSTALL = {"postgresql": POSTGRESQL_UNINSTALL}
# Fills the column for the leads already stored.
BACKFILL = """
    UPDATE leads_lead SET group_sort_name = COALESCE(
        (SELECT lower(name) FROM leads_monitoredgroup WHERE id = leads_lead.source_group_id), '')
"""
