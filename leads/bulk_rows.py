"""Write many rows fast: PostgreSQL's COPY, or batched INSERTs on SQLite.

For loads the ORM makes slow (a million demo leads): no model instances, no per-row SQL.
Rows are plain tuples in the order of the columns named; a column left out gets its
database default (an id sequence) or NULL, so name every column the model requires.
Database triggers fire as for any INSERT: the kept totals (`leads.totals`) stay exact.
"""

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import connection, transaction
from django.db.models import JSONField, Model
from psycopg.types.json import Jsonb

# A load at least this big (and bigger than what the tables hold) rebuilds indexes after it.
REBUILD_FROM_ROWS = 50_000
# Memory for each index rebuild (PostgreSQL's default of 64 MB sorts a million rows on disk).
REBUILD_MEMORY = "256MB"

# Rows per INSERT on SQLite: SQLite caps the variables of one statement at 32,766.
SQLITE_ROWS_PER_INSERT = 500


def insert_rows(model: type[Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Insert `rows` (values for `columns`, model field names) into `model`'s table."""
    fields = [model._meta.get_field(name) for name in columns]
    table = connection.ops.quote_name(model._meta.db_table)
    # Callers name the model's own columns, never a reverse relation: each has a `column`.
    names = ", ".join(connection.ops.quote_name(field.column) for field in fields)  # type: ignore[union-attr, arg-type]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            _copy(cursor, table, names, fields, rows)
            return
        prepare = [field.get_db_prep_save for field in fields]  # type: ignore[union-attr]
        one_row = "(" + ", ".join(["%s"] * len(fields)) + ")"
        batch: list[Any] = []
        for row in rows:
            batch.append(
                [to_db(value, connection) for to_db, value in zip(prepare, row, strict=True)]
            )
            if len(batch) == SQLITE_ROWS_PER_INSERT:
                _insert_batch(cursor, table, names, one_row, batch)
                batch = []
        if batch:
            _insert_batch(cursor, table, names, one_row, batch)


def _copy(cursor: Any, table: str, names: str, fields: list[Any], rows: Iterable[Any]) -> None:
    # Values go as Python objects: psycopg writes each in COPY's text form. A list would
    # go as a PostgreSQL array, so JSON columns' values are wrapped as JSON.
    json_at = [i for i, field in enumerate(fields) if isinstance(field, JSONField)]
    with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in rows:
            if json_at:
                row = list(row)
                for i in json_at:
                    row[i] = Jsonb(row[i])
            copy.write_row(row)


def _insert_batch(cursor: Any, table: str, names: str, one_row: str, batch: list[Any]) -> None:
    values = ", ".join([one_row] * len(batch))
    # Table and column names come from the model's meta, quoted; values are parameters.
    cursor.execute(
        f"INSERT INTO {table} ({names}) VALUES {values}",  # noqa: S608
        [value for row in batch for value in row],
    )


@contextmanager
def indexes_rebuilt_after(
    models: Sequence[type[Model]], *, adding: int, present: int
) -> Iterator[None]:
    """Load into `models`' tables without their secondary indexes and foreign keys, then
    rebuild them: PostgreSQL's own advice for populating a database ("Remove Indexes",
    "Remove Foreign Key Constraints"). Building an index once from sorted rows is several
    times faster than updating it per row, and one validating join replaces a deferred check
    per row. Primary keys and unique constraints stay, so duplicates still fail.

    Only on PostgreSQL and only when the load (`adding` rows) is big and bigger than what
    the tables hold (`present`); otherwise the rows go in with the indexes kept up to date.
    Runs in one transaction: the schema is exactly as before, whether the load commits or
    fails. Readers of these tables wait until it commits (DROP INDEX locks the table).
    """
    if connection.vendor != "postgresql" or adding < max(REBUILD_FROM_ROWS, present):
        yield
        return
    tables = [model._meta.db_table for model in models]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
            "WHERE indrelid = ANY(%s::regclass[]) AND NOT indisprimary AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint WHERE conindid = indexrelid)",
            [tables],
        )
        indexes = cursor.fetchall()
        cursor.execute(
            "SELECT conrelid::regclass::text, quote_ident(conname), pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE contype = 'f' AND conrelid = ANY(%s::regclass[])",
            [tables],
        )
        foreign_keys = cursor.fetchall()
        # Checks still pending from earlier writes in this transaction run now: a table
        # with pending trigger events cannot be altered.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        # Names and definitions come from PostgreSQL's catalog, already quoted.
        for table, name, _ in foreign_keys:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {name}")
        yield
        cursor.execute(f"SET LOCAL maintenance_work_mem = '{REBUILD_MEMORY}'")
        for _, definition in indexes:
            cursor.execute(definition)
        for table, name, definition in foreign_keys:
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")  # Django's foreign keys, as they were
