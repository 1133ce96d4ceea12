"""The triggers that keep `Lead.group_sort_name` equal to its group's lower-cased name.

The table's group sort reads `(group_sort_name, newest first)` from an index; ordering by the
joined group's name instead sorts every lead (3-5 s at 1,000,000). The database keeps the
copy, so every write path is covered (the ORM, bulk_create, COPY, INSERT … SELECT):
- a lead inserted, or moved to another group, takes its group's name;
- a group renamed passes its new name to its leads (one UPDATE; renames are rare).
PostgreSQL sets the value before the row is written; SQLite, which cannot assign to NEW,
updates the row just written (its totals trigger watches other columns, so it stays quiet).
Installed by migration 0020; `leads.totals.settle_sqlite_totals` puts the SQLite ones back
after a migration rebuilds a table.
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

_SQLITE_TAKE_NAME = """
    UPDATE leads_lead SET group_sort_name = COALESCE(
        (SELECT lower(name) FROM leads_monitoredgroup WHERE id = NEW.source_group_id), '')
    WHERE id = NEW.id;
"""
SQLITE_INSTALL = [
    "CREATE TRIGGER leads_lead_group_sort_insert AFTER INSERT ON leads_lead BEGIN "
    + _SQLITE_TAKE_NAME
    + " END",
    "CREATE TRIGGER leads_lead_group_sort_update AFTER UPDATE OF source_group_id "
    "ON leads_lead BEGIN " + _SQLITE_TAKE_NAME + " END",
    "CREATE TRIGGER leads_group_renamed AFTER UPDATE OF name ON leads_monitoredgroup "
    "WHEN lower(OLD.name) IS NOT lower(NEW.name) BEGIN "
    "UPDATE leads_lead SET group_sort_name = lower(NEW.name) "
    "WHERE source_group_id = NEW.id; END",
]
SQLITE_TRIGGERS = (
    "leads_lead_group_sort_insert",
    "leads_lead_group_sort_update",
    "leads_group_renamed",
)
SQLITE_UNINSTALL = [f"DROP TRIGGER IF EXISTS {name}" for name in SQLITE_TRIGGERS]

INSTALL = {"postgresql": POSTGRESQL_INSTALL, "sqlite": SQLITE_INSTALL}
UNINSTALL = {"postgresql": POSTGRESQL_UNINSTALL, "sqlite": SQLITE_UNINSTALL}
# Fills the column for the leads already stored (both databases).
BACKFILL = """
    UPDATE leads_lead SET group_sort_name = COALESCE(
        (SELECT lower(name) FROM leads_monitoredgroup WHERE id = leads_lead.source_group_id), '')
"""
