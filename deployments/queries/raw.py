"""The pages' hottest reads as fixed SQL, with the ORM's own value conversions.

On the list and detail pages, building and compiling a query through the ORM cost more
than running it: 0.3 to 3 ms against 0.05 to 0.3 ms at 100,000 deployments (a row by
primary key, 25 columns: 0.44 ms through `.values()`, most of it building). The reads
here are SQL written once; `Select` names each column's model field, and `fetch`
converts values exactly as Django would for that field on this database (SQLite
returns UUIDs, moments and booleans as text and integers; JSON arrives as text), so
callers get what `.values()` would have given them.

SQL here is plain enough for SQLite and PostgreSQL alike; names come from the models
(`table`, `columns`), never from input, and values always travel as parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.db import connection
from django.db.models import Field, Model

Converter = Callable[[Any, Any, Any], Any]
Prefixed = tuple[type[Model], Sequence[str], str]


def table(model: type[Model]) -> str:
    """The model's table, quoted."""
    return _table(connection.vendor, model)


def columns(alias: str, model: type[Model], names: Sequence[str]) -> str:
    """`alias."column", ...` for the model's fields `names` (attribute names)."""
    return _columns(connection.vendor, alias, model, tuple(names))


# Worked out once per database vendor (whose quoting they follow): the detail page's
# nine column lists and tables took 0.09 ms a request to build again.
@lru_cache(maxsize=64)
def _table(vendor: str, model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


@lru_cache(maxsize=128)
def _columns(vendor: str, alias: str, model: type[Model], names: tuple[str, ...]) -> str:
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(model_field(model, name).column)}" for name in names)


def model_field(model: type[Model], name: str) -> Field:
    """The model's concrete field whose attribute name is `name` (`deployment_id` for
    the foreign key `deployment`)."""
    for candidate in model._meta.concrete_fields:
        if candidate.attname == name:
            return candidate
    raise LookupError(f"{model.__name__} has no column {name}")


@dataclass(frozen=True)
class Select:
    """A statement's result columns: each a name and the model field its value is
    converted as (None: taken as the database gives it, e.g. a count)."""

    names: tuple[str, ...]
    fields: tuple[Field | None, ...]
    _converters: dict[str, list[tuple[int, Converter, Any]]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def of(cls, *parts: tuple[type[Model] | None, Sequence[str]] | Prefixed) -> Select:
        """From (model, attribute names) parts, in order; (None, names) for computed
        values; (model, names, prefix) to name them `prefix + name` (as `.values()`
        names a related model's fields: `pull_request__title`)."""
        names: list[str] = []
        fields: list[Field | None] = []
        for model, part, *prefix in parts:
            for name in part:
                names.append("".join(prefix) + name)
                fields.append(None if model is None else model_field(model, name))
        return cls(tuple(names), tuple(fields))

    def converters(self) -> list[tuple[int, Converter, Any]]:
        """(index, converter, column expression) for this connection's database, as the
        ORM's compiler would apply them; worked out once per database vendor."""
        vendor = connection.vendor
        if vendor not in self._converters:
            found = []
            for index, model_field in enumerate(self.fields):
                if model_field is None:
                    continue
                column = model_field.get_col(model_field.model._meta.db_table)
                for converter in connection.ops.get_db_converters(
                    column
                ) + column.get_db_converters(connection):
                    found.append((index, converter, column))
            self._converters[vendor] = found
        return self._converters[vendor]


def fetch(select: Select, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """The rows of `sql`, as dicts of `select`'s names with converted values."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    converters = select.converters()
    names = select.names
    if not converters:
        return [dict(zip(names, row, strict=True)) for row in rows]
    result = []
    for row in rows:
        values = list(row)
        for index, converter, column in converters:
            values[index] = converter(values[index], column, connection)
        result.append(dict(zip(names, values, strict=True)))
    return result


def parameter(model: type[Model], name: str, value: Any) -> Any:
    """`value` as the database takes it for the model's field `name` (a UUID is text
    without hyphens on SQLite, for one)."""
    return model_field(model, name).get_db_prep_value(value, connection)
