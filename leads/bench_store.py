"""A million leads for the benchmarks in minutes: copies of the seeded leads, made in SQL.

`seed_demo` writes leads one realistic lead at a time (groups, history, messages). To measure
pages at 1,000,000 leads, `grow_leads` copies the leads already seeded with `INSERT … SELECT`
over `generate_series` on PostgreSQL: each copy keeps its original's group, status, name,
keyword, message and score, gets a new id, a new phone number (and the search text that
goes with it) and a detection time spread over the past year. Copies carry no status
history (the table and the board never read it). The totals triggers count the copies as
they are inserted; `shrink_leads` deletes them again, so a benchmark can go back to its small
store. The copies are marked by their WhatsApp id (`copy<n>-…`).
"""

from collections.abc import Callable

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper

from leads.models import Lead

COPY_MARK = "copy"
# Copies inserted per statement: about 100,000 rows at a 10,000-lead seed, so progress shows.
COPIES_PER_STATEMENT = 10
_YEAR_SECONDS = 365 * 24 * 3600

# The copies of the original leads numbered `%(first)s..%(last)s` (one statement, many copies).
# Only this module's constants and integers are formatted in; nothing user-written.
_COPY_SQL = """
INSERT INTO leads_lead (
    id, source_group_id, contact_jid, contact_phone, contact_name, lead_status, lead_score,
    lead_reasons, lead_detected_at, matched_keyword, message_preview, monitor_mode,
    message_count, search_text, created_at, updated_at
)
SELECT
    gen_random_uuid(), o.source_group_id, %(mark)s || n || '-' || o.contact_jid, o.phone,
    o.contact_name, o.lead_status, o.lead_score, o.lead_reasons, o.detected,
    o.matched_keyword, o.message_preview, o.monitor_mode, o.message_count,
    CASE WHEN o.digits IS NULL THEN o.search_text
         ELSE replace(o.search_text, o.digits, ltrim(o.phone, '+')) END,
    o.detected, o.detected
FROM (
    SELECT l.*, n, ltrim(l.contact_phone, '+') AS digits,
        CASE WHEN l.contact_phone IS NULL THEN NULL
             ELSE left(l.contact_phone, length(l.contact_phone) - 6)
                  || lpad(((n * 7919 + l.rn * 104729) %% 1000000)::text, 6, '0') END AS phone,
        now() - ((extract(epoch FROM now() - l.lead_detected_at)::bigint + n * 5227 + l.rn * 61)
                 %% %(year)s) * interval '1 second' AS detected
    FROM (SELECT *, row_number() OVER (ORDER BY id) AS rn FROM leads_lead
          WHERE contact_jid NOT LIKE %(pattern)s) AS l
    CROSS JOIN generate_series(%(first)s, %(last)s) AS n
    ORDER BY n, l.rn
    LIMIT %(limit)s
) AS o
"""


def grown_count() -> int:
    """How many of the store's leads are copies made by `grow_leads`."""
    return Lead.objects.filter(contact_jid__startswith=COPY_MARK).count()


def grow_leads(target: int, log: Callable[[str], object]) -> int:
    """Copy the seeded leads until the store holds `target` leads; returns how many were added.

    PostgreSQL only (`gen_random_uuid`, statement triggers keep the totals). The originals
    must exist first (`seed_demo`): they are what gets copied.
    """
    if connection.vendor != "postgresql":
        raise RuntimeError("grow_leads copies leads with PostgreSQL's SQL; use PostgreSQL.")
    originals = Lead.objects.exclude(contact_jid__startswith=COPY_MARK).count()
    if not originals:
        raise RuntimeError("No leads to copy: seed the store first (seed_demo).")
    have = Lead.objects.count()
    added, copy = 0, grown_count() // originals + 1
    with transaction.atomic(), connection.cursor() as cursor:
        # Building each index once afterwards is several times faster than updating it row
        # by row (the trigram index above all); all in one transaction, so a failure leaves
        # the store and its indexes as they were.
        indexes = _secondary_indexes(cursor)
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        while have + added < target:
            wanted = min(target - have - added, COPIES_PER_STATEMENT * originals)
            last = copy + -(-wanted // originals) - 1
            cursor.execute(
                _COPY_SQL,
                {
                    "mark": COPY_MARK,
                    "pattern": f"{COPY_MARK}%",
                    "year": _YEAR_SECONDS,
                    "first": copy,
                    "last": last,
                    "limit": wanted,
                },
            )
            added += cursor.rowcount
            copy = last + 1
            log(f"  {have + added:,} leads")
        log(f"  rebuilding {len(indexes)} indexes")
        # The copies' deferred foreign-key checks run now: CREATE INDEX refuses to run while
        # trigger events are pending.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for _, definition in indexes:
            cursor.execute(definition)
    return added


def _secondary_indexes(cursor: CursorWrapper) -> list[tuple[str, str]]:
    """Name and `CREATE INDEX` of each index on the leads that no constraint owns."""
    cursor.execute(
        "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = 'leads_lead'::regclass AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)"
    )
    return list(cursor.fetchall())


def shrink_leads() -> int:
    """Delete every copy `grow_leads` made (with anything that points at one); returns how many."""
    pattern = f"{COPY_MARK}%"
    with transaction.atomic(), connection.cursor() as cursor:
        # Bulk moves over the copies may have written history; set-aside rows may point at one.
        cursor.execute(
            "DELETE FROM leads_leadstatuschange WHERE lead_id IN "
            "(SELECT id FROM leads_lead WHERE contact_jid LIKE %s)",
            [pattern],
        )
        cursor.execute(
            "UPDATE leads_setasidemessage SET lead_id = NULL WHERE lead_id IN "
            "(SELECT id FROM leads_lead WHERE contact_jid LIKE %s)",
            [pattern],
        )
        cursor.execute("DELETE FROM leads_lead WHERE contact_jid LIKE %s", [pattern])
        return cursor.rowcount
