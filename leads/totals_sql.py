"""The triggers that keep the kept totals exact, per database: `leads_leadtotal` (per group
and status, migration 0007) and `leads_leaddaytotal` (the same per UTC day of detection too,
migration 0027).

PostgreSQL: statement-level triggers with transition tables, so a bulk UPDATE of 1,000 leads
or a COPY of a million adds one grouped upsert, not one per row. SQLite: row-level triggers
(it has no transition tables) with an upsert each. Both run inside the writing statement's
transaction, so a total is never ahead of or behind the rows it counts.
"""

_PG_UPSERT = """
    INSERT INTO leads_leadtotal (group_id, status, total)
    SELECT group_id, status, sum(delta) FROM ({changes}) AS changes
    GROUP BY group_id, status HAVING sum(delta) <> 0
    ORDER BY group_id, status
    ON CONFLICT (group_id, status)
    DO UPDATE SET total = leads_leadtotal.total + EXCLUDED.total;
"""
_PG_NEW = "SELECT source_group_id AS group_id, lead_status AS status, 1 AS delta FROM new_rows"
_PG_OLD = "SELECT source_group_id AS group_id, lead_status AS status, -1 AS delta FROM old_rows"

# What each trigger's transition tables are called (an UPDATE sees both).
_TRANSITION_TABLES = {
    "insert": "NEW TABLE AS new_rows",
    "delete": "OLD TABLE AS old_rows",
    "update": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
}


def _postgresql(name: str, upsert: str, new: str, old: str) -> tuple[list[str], list[str]]:
    """Install and uninstall statements of the statement triggers `<name>_insert`, `_delete`
    and `_update` on leads_lead: each runs `upsert` over the rows it inserted (`new`), deleted
    (`old`) or changed (both). Built from this module's constants only."""
    changes = {"insert": new, "delete": old, "update": f"{old} UNION ALL {new}"}
    functions = "".join(
        f"""
    CREATE OR REPLACE FUNCTION {name}_{event}() RETURNS trigger
    LANGUAGE plpgsql AS $$ BEGIN {upsert.format(changes=rows)} RETURN NULL; END $$;"""
        for event, rows in changes.items()
    )
    triggers = [
        f"""
    CREATE TRIGGER {name}_{event} AFTER {event.upper()} ON leads_lead
    REFERENCING {tables} FOR EACH STATEMENT
    EXECUTE FUNCTION {name}_{event}()
    """
        for event, tables in _TRANSITION_TABLES.items()
    ]
    uninstall = [f"DROP TRIGGER IF EXISTS {name}_{event} ON leads_lead" for event in changes]
    uninstall += [f"DROP FUNCTION IF EXISTS {name}_{event}()" for event in changes]
    return [functions, *triggers], uninstall


POSTGRESQL_INSTALL, POSTGRESQL_UNINSTALL = _postgresql(
    "leads_lead_totals", _PG_UPSERT, _PG_NEW, _PG_OLD
)


def _sqlite_add(group: str, status: str, delta: str) -> str:
    # Trigger text built from this module's constants only: nothing user-written goes in.
    return (
        "INSERT INTO leads_leadtotal (group_id, status, total) "  # noqa: S608
        f"VALUES ({group}, {status}, {delta}) "
        f"ON CONFLICT (group_id, status) DO UPDATE SET total = total + {delta};"
    )


SQLITE_INSTALL = [
    "CREATE TRIGGER leads_lead_totals_insert AFTER INSERT ON leads_lead BEGIN "
    + _sqlite_add("NEW.source_group_id", "NEW.lead_status", "1")
    + " END",
    "CREATE TRIGGER leads_lead_totals_delete AFTER DELETE ON leads_lead BEGIN "
    + _sqlite_add("OLD.source_group_id", "OLD.lead_status", "-1")
    + " END",
    "CREATE TRIGGER leads_lead_totals_update AFTER UPDATE OF lead_status, source_group_id "
    "ON leads_lead WHEN OLD.lead_status <> NEW.lead_status "
    "OR OLD.source_group_id <> NEW.source_group_id BEGIN "
    + _sqlite_add("OLD.source_group_id", "OLD.lead_status", "-1")
    + _sqlite_add("NEW.source_group_id", "NEW.lead_status", "1")
    + " END",
]
SQLITE_UNINSTALL = [
    "DROP TRIGGER IF EXISTS leads_lead_totals_insert",
    "DROP TRIGGER IF EXISTS leads_lead_totals_delete",
    "DROP TRIGGER IF EXISTS leads_lead_totals_update",
]

INSTALL = {"postgresql": POSTGRESQL_INSTALL, "sqlite": SQLITE_INSTALL}
UNINSTALL = {"postgresql": POSTGRESQL_UNINSTALL, "sqlite": SQLITE_UNINSTALL}


# --- Per day (migration 0027): the same counts, keyed by the UTC day of detection too --------
# The API finds a deep offset's day from these, then walks one day of the index, not all the
# leads before it. A lead changes day only if its detection time is rewritten (a sync).

_PG_DAY_UPSERT = """
    INSERT INTO leads_leaddaytotal (day, group_id, status, total)
    SELECT day, group_id, status, sum(delta) FROM ({changes}) AS changes
    GROUP BY day, group_id, status HAVING sum(delta) <> 0
    ORDER BY day, group_id, status
    ON CONFLICT (day, group_id, status)
    DO UPDATE SET total = leads_leaddaytotal.total + EXCLUDED.total;
"""
_PG_DAY_NEW = (
    "SELECT (lead_detected_at AT TIME ZONE 'UTC')::date AS day, "
    "source_group_id AS group_id, lead_status AS status, 1 AS delta FROM new_rows"
)
_PG_DAY_OLD = (
    "SELECT (lead_detected_at AT TIME ZONE 'UTC')::date AS day, "
    "source_group_id AS group_id, lead_status AS status, -1 AS delta FROM old_rows"
)

POSTGRESQL_DAY_INSTALL, POSTGRESQL_DAY_UNINSTALL = _postgresql(
    "leads_lead_day_totals", _PG_DAY_UPSERT, _PG_DAY_NEW, _PG_DAY_OLD
)


def _sqlite_add_day(row: str, delta: str) -> str:
    # Trigger text built from this module's constants only: nothing user-written goes in.
    # Django keeps SQLite's times as UTC text, so date() is the UTC day.
    return (
        "INSERT INTO leads_leaddaytotal (day, group_id, status, total) "  # noqa: S608
        f"VALUES (date({row}.lead_detected_at), {row}.source_group_id, {row}.lead_status, "
        f"{delta}) ON CONFLICT (day, group_id, status) DO UPDATE SET total = total + {delta};"
    )


SQLITE_DAY_INSTALL = [
    "CREATE TRIGGER leads_lead_day_totals_insert AFTER INSERT ON leads_lead BEGIN "
    + _sqlite_add_day("NEW", "1")
    + " END",
    "CREATE TRIGGER leads_lead_day_totals_delete AFTER DELETE ON leads_lead BEGIN "
    + _sqlite_add_day("OLD", "-1")
    + " END",
    "CREATE TRIGGER leads_lead_day_totals_update "
    "AFTER UPDATE OF lead_status, source_group_id, lead_detected_at ON leads_lead "
    "WHEN OLD.lead_status <> NEW.lead_status OR OLD.source_group_id <> NEW.source_group_id "
    "OR date(OLD.lead_detected_at) <> date(NEW.lead_detected_at) BEGIN "
    + _sqlite_add_day("OLD", "-1")
    + _sqlite_add_day("NEW", "1")
    + " END",
]
SQLITE_DAY_UNINSTALL = [
    "DROP TRIGGER IF EXISTS leads_lead_day_totals_insert",
    "DROP TRIGGER IF EXISTS leads_lead_day_totals_delete",
    "DROP TRIGGER IF EXISTS leads_lead_day_totals_update",
]

DAY_INSTALL = {"postgresql": POSTGRESQL_DAY_INSTALL, "sqlite": SQLITE_DAY_INSTALL}
DAY_UNINSTALL = {"postgresql": POSTGRESQL_DAY_UNINSTALL, "sqlite": SQLITE_DAY_UNINSTALL}
