"""PostgreSQL moments read by psycopg's compiled loader, not its pure-Python one.

Django's PostgreSQL backend registers its own `timestamptz` loader on every connection
(to attach the connection's timezone), and that loader subclasses psycopg's pure-Python
`TimestamptzLoader`: the compiled one in psycopg's binary package cannot be subclassed.
So every moment Django reads is parsed in Python: 3.3 µs, against 1.0 µs through the
loader here (`bench/timestamps.py`). At 100,000 deployments that spares the API's list
of 100 expanded deployments 2.2 ms, the detail page's reads 0.3 ms and the list page's
rows 0.2 ms (Django ticket #36960, psycopg issue #1273).

`fast_timestamp_loader` keeps Django's behaviour (the connection's timezone attached,
or none when USE_TZ is off) and hands the parsing to whichever loader psycopg itself
registered for `timestamptz`: the compiled one when psycopg's binary or C package is
installed, else the same pure-Python one Django uses.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from functools import lru_cache
from typing import Any

TIMESTAMPTZ = "timestamptz"


def use_fast_timestamp_loader(sender: Any, connection: Any, **kwargs: Any) -> None:
    """`connection_created` receiver: on a psycopg 3 connection, replaces Django's
    `timestamptz` loader with `fast_timestamp_loader`'s."""
    adapters = getattr(connection.connection, "adapters", None)
    if connection.vendor != "postgresql" or adapters is None:  # None: psycopg2
        return
    adapters.register_loader(TIMESTAMPTZ, fast_timestamp_loader(connection.timezone))


@lru_cache
def fast_timestamp_loader(timezone: tzinfo | None) -> type:
    """A psycopg loader class: moments parsed by psycopg's own `timestamptz` loader,
    carrying `timezone` (the session's, as Django sets it; None: naive), as Django's
    loader gives them."""
    import psycopg
    from psycopg.adapt import Loader
    from psycopg.pq import Format

    oid = psycopg.postgres.types[TIMESTAMPTZ].oid
    parser_class = psycopg.adapters.get_loader(oid, Format.TEXT)

    class FastTimestamptzLoader(Loader):
        # Django compares this with the connection's timezone before each cursor, and
        # registers its own loader again if they differ.
        timezone: tzinfo | None = None

        def __init__(self, oid: int, context: Any = None):
            super().__init__(oid, context)
            self._parse = parser_class(oid, context).load

        def load(self, data: Any) -> datetime:
            return self._parse(data).replace(tzinfo=self.timezone)

    FastTimestamptzLoader.timezone = timezone
    return FastTimestamptzLoader
