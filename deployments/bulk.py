"""Fast bulk writes: the demo seed, imports and sync write the cache through here.

`bulk_create` spends three quarters of a large load compiling SQL value by value; these
helpers send one prepared statement per table and batch (`executemany` on SQLite, COPY
on PostgreSQL) with values still prepared by the fields themselves.
"""

from __future__ import annotations

import ctypes
import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, tzinfo
from itertools import repeat
from operator import attrgetter
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from .models import (
    Deployment,
    DeploymentEvent,
    DeploymentPullRequest,
    FlagReference,
    PullRequest,
    PullRequestFlagReference,
)

# Bulk writes on SQLite: a page cache of 64 MB (128 MB synced no faster, and sync's two
# processes must stay under 300 MB together), and a WAL checkpoint every 64 MB of pages
# rather than every 4 MB (a sync of 100,000 deployments ran about 10% faster).
SQLITE_CACHE_KIB = 64 * 1024
WAL_CHECKPOINT_PAGES = 16384
# Columns whose values callers already give in the database's own type (str, int, bool),
# so they skip the per-value conversion.
PLAIN_COLUMNS = {
    "BigIntegerField",
    "BooleanField",
    "CharField",
    "IntegerField",
    "PositiveIntegerField",
    "TextField",
}


@dataclass
class Rows:
    """A table's rows with their values prepared for the database, ready to write.

    JSON values stay as they are until the write: PostgreSQL's are psycopg adapter
    objects, and prepared rows may travel between processes (sync's fetching process
    prepares them).
    """

    model: type[models.Model]
    values: list[tuple[Any, ...]]


def prepared(model: type[models.Model], objs: Sequence[models.Model]) -> Rows:
    """Unsaved instances as rows, each value through its field's database preparation
    (reading no database: only the connection's vendor and settings)."""
    connection = connections[DEFAULT_DB_ALIAS]
    return Rows(model, list(_rows(_fields(model), objs, connection)) if objs else [])


def insert_rows(model: type[models.Model], objs: Sequence[models.Model]) -> None:
    """Inserts unsaved instances as `bulk_create` would into a fresh table, without its
    per-value SQL compilation, which took three quarters of a seed's time."""
    insert_prepared(prepared(model, objs))


def upsert_rows(model: type[models.Model], objs: Sequence[models.Model]) -> None:
    """Inserts instances, or updates every column of the rows whose primary key exists."""
    upsert_prepared(prepared(model, objs))


def insert_prepared(rows: Rows) -> None:
    """Inserts prepared rows. PostgreSQL gets one COPY per table and chunk (an
    `executemany` sent a statement per row there, at about 11,000 rows/s); SQLite runs
    one prepared INSERT over all rows with `executemany`."""
    if not rows.values:
        return
    connection = connections[DEFAULT_DB_ALIAS]
    quote = connection.ops.quote_name
    fields = _fields(rows.model)
    table = quote(rows.model._meta.db_table)
    columns = ", ".join(quote(field.column) for field in fields)
    values = _with_json(fields, rows.values, connection)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # psycopg 3's COPY; Django logs it like any statement.
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
        else:
            placeholders = ", ".join(["%s"] * len(fields))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", values)


def upsert_prepared(rows: Rows) -> None:
    """Inserts prepared rows, or updates every column of those whose primary key exists.

    SQLite runs one prepared `INSERT ... ON CONFLICT DO UPDATE` over all rows;
    PostgreSQL COPYs the rows into a temporary table and merges it in one statement (a
    statement per row would cap it near 11,000 rows/s).
    """
    if not rows.values:
        return
    connection = connections[DEFAULT_DB_ALIAS]
    quote = connection.ops.quote_name
    model = rows.model
    fields = _fields(model)
    key = quote(model._meta.pk.column)
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(field.column) for field in fields)
    updates = ", ".join(
        f"{quote(f.column)} = EXCLUDED.{quote(f.column)}" for f in fields if not f.primary_key
    )
    values = _with_json(fields, rows.values, connection)
    # One transaction: the staging table empties itself at every commit, which in
    # autocommit mode would be between the COPY and the merge.
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            staging = quote(f"staging_{model._meta.db_table}")
            cursor.execute(
                f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging} "
                f"(LIKE {table} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
            )
            cursor.execute(f"TRUNCATE {staging}")
            with cursor.copy(f"COPY {staging} ({columns}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {staging} "
                f"ON CONFLICT ({key}) DO UPDATE SET {updates}"
            )
        else:
            placeholders = ", ".join(["%s"] * len(fields))
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) "
                f"ON CONFLICT ({key}) DO UPDATE SET {updates}",
                values,
            )


def rows_by_key(rows: Rows) -> dict[Any, tuple[Any, ...]]:
    """The stored rows with the keys of `rows` (by primary key, the first column), as
    the database holds them, in the same column order: a prepared row equal to its
    stored one (JSON compared as values) is stored exactly so already."""
    if not rows.values:
        return {}
    connection = connections[DEFAULT_DB_ALIAS]
    quote = connection.ops.quote_name
    fields = _fields(rows.model)
    assert fields[0].primary_key, "the key comes first"
    table = quote(rows.model._meta.db_table)
    columns = ", ".join(quote(field.column) for field in fields)
    key = quote(fields[0].column)
    json_columns = [index for index, _ in _json_fields(fields)]
    stored = {}
    with connection.cursor() as cursor:
        for keys in _chunks([row[0] for row in rows.values]):
            placeholders = ", ".join(["%s"] * len(keys))
            cursor.execute(
                f"SELECT {columns} FROM {table} WHERE {key} IN ({placeholders})",
                keys,
            )
            for row in cursor.fetchall():
                if json_columns and connection.vendor == "sqlite":
                    row = list(row)
                    for index in json_columns:
                        row[index] = None if row[index] is None else json.loads(row[index])
                stored[row[0]] = tuple(row)
    return stored


def delete_where_in(model: type[models.Model], attname: str, keys: Sequence[Any]) -> None:
    """DELETE the rows whose `attname` column holds one of `keys` (prepared values)."""
    connection = connections[DEFAULT_DB_ALIAS]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    column = quote(model._meta.get_field(attname).column)
    with connection.cursor() as cursor:
        for chunk in _chunks(list(keys)):
            placeholders = ", ".join(["%s"] * len(chunk))
            cursor.execute(f"DELETE FROM {table} WHERE {column} IN ({placeholders})", chunk)


def _chunks(values: list[Any], size: int = 500) -> Iterator[list[Any]]:
    # Under SQLite's oldest limit of 999 parameters a statement.
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _fields(model: type[models.Model]) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields if not isinstance(f, models.AutoField)]


def _json_fields(fields: Sequence[models.Field]) -> list[tuple[int, models.Field]]:
    """(column index, field) of each JSON column."""
    return [(i, f) for i, f in enumerate(fields) if f.get_internal_type() == "JSONField"]


def _with_json(
    fields: Sequence[models.Field], values: list[tuple[Any, ...]], connection: BaseDatabaseWrapper
) -> list[tuple[Any, ...]]:
    """`values` with their JSON columns prepared: the save path, which stores None as
    SQL NULL rather than JSON null."""
    json_fields = _json_fields(fields)
    if not json_fields:
        return values
    prepared_rows = []
    for row in values:
        row = list(row)
        for index, field in json_fields:
            row[index] = field.get_db_prep_save(row[index], connection)
        prepared_rows.append(tuple(row))
    return prepared_rows


def _sqlite_uuid(value: uuid.UUID | None, zone: tzinfo) -> str | None:
    return None if value is None else value.hex


def _sqlite_datetime(value: datetime | None, zone: tzinfo) -> str | None:
    if value is None:
        return None
    if value.utcoffset() is None:
        return str(value)
    return str(value.astimezone(zone).replace(tzinfo=None))


# What Django's SQLite backend stores for these columns (UUIDField.get_db_prep_value,
# DatabaseOperations.adapt_datetimefield_value), without the lookups around it: a sync
# of 100,000 deployments prepares two million such values, and the general path spent
# about a tenth of the run on them. tests/test_bulk.py compares the two.
SQLITE_ADAPTERS = {
    "UUIDField": _sqlite_uuid,
    "DateTimeField": _sqlite_datetime,
}


def _rows(
    fields: Sequence[models.Field], objs: Sequence[models.Model], connection: BaseDatabaseWrapper
) -> Iterable[tuple[Any, ...]]:
    # Column by column with map(), so the per-value work runs in C loops where it can.
    columns: list[Iterable[Any]] = []
    for field in fields:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            # pre_save would stamp each row with the current time: one stamp for the batch.
            stamp = field.get_db_prep_save(field.pre_save(objs[0], True), connection)
            columns.append([stamp] * len(objs))
            continue
        values: Iterable[Any] = map(attrgetter(field.attname), objs)
        kind = field.get_internal_type()
        if field.is_relation:
            # A foreign key is stored as the key it points at.
            kind = field.target_field.get_internal_type()
        if kind == "JSONField":
            pass  # prepared at the write (_with_json)
        elif connection.vendor == "sqlite" and kind in SQLITE_ADAPTERS:
            values = map(SQLITE_ADAPTERS[kind], values, repeat(connection.timezone))
        elif kind not in PLAIN_COLUMNS:
            # The generator gives final Python values (aware datetimes, UUIDs): skip
            # get_prep_value, which only checks them, and keep the backend's adaptation.
            values = map(field.get_db_prep_value, values, repeat(connection), repeat(True))
        columns.append(values)
    return zip(*columns, strict=True)


@contextmanager
def bulk_load() -> Iterator[None]:
    """On SQLite, a page cache big enough for the load: random UUID keys touch pages all
    over every index, and the default 2 MB cache made it spill to disk all the time."""
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        (previous,) = cursor.fetchone()
        cursor.execute("PRAGMA wal_autocheckpoint")
        (previous_checkpoint,) = cursor.fetchone()
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        cursor.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(previous)}")
            cursor.execute(f"PRAGMA wal_autocheckpoint = {int(previous_checkpoint)}")


def release_memory() -> None:
    """Hands SQLite's page cache and the C heap's free memory back to the system.

    Called before forking sync's fetching process: every page this process holds at the
    fork and writes afterwards stays in the child as its own copy, so a child forked
    after a scope had filled a 128 MB page cache kept about 200 MB it never used.
    (`malloc_trim` is glibc's; elsewhere only SQLite's cache is released.)
    """
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor == "sqlite" and connection.connection is not None:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA shrink_memory")
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def delete_cache() -> None:
    """Deletes every cached deployment and pull request, and the rows that hang off them.
    The change log stays: history outlives the cache."""
    # One DELETE per table, children first. Django's collector fetched every deployment
    # and pull request and deleted a few hundred ids at a time: 17-24 s for 100,000. Foreign
    # keys are checked at commit, so a table added later and missed here fails loudly.
    connection = connections[DEFAULT_DB_ALIAS]
    with connection.cursor() as cursor:
        for model in (
            DeploymentEvent,
            FlagReference,
            DeploymentPullRequest,
            PullRequestFlagReference,
            Deployment,
            PullRequest,
        ):
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")
