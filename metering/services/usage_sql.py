"""The hot path's statements, written once for PostgreSQL and SQLite; usage.py decides, these only read and write.

Rows travel as a named table, `name(columns) AS (...)`: a VALUES list, or on PostgreSQL for many rows one JSON
parameter (a 1,000-event batch is a handful of parameters, not 20,000). On PostgreSQL a step that touches several
tables is one statement of data-modifying CTEs, bound on the server so each is planned once per connection, and
the last one travels with the COMMIT; SQLite, which has no data-modifying CTEs, runs the parts one by one.
Lock order on the hot path: event keys in order (claimed before any other lock), then counters (by meter, the
org's first, then subject), credit pools by id, then rollups by (day, dimensions).
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime
from typing import Any

import orjson
from django.db import connection, models
from django.utils.dateparse import parse_datetime

from accounts.models import Membership, Space, User
from billing_portal.catalog.models import Meter
from billing_portal.core.db import server_cursor
from metering.models import (
    CreditEntry,
    CreditPool,
    CreditRate,
    EntryKind,
    UsageCounter,
    UsageEvent,
    UsageRollup,
)
from metering.models.usage import ORG_SUBJECT
from metering.services.ledger import DEBIT_COLUMNS

EVENTS = UsageEvent._meta.db_table
COUNTERS = UsageCounter._meta.db_table
POOLS = CreditPool._meta.db_table
ENTRIES = CreditEntry._meta.db_table
ROLLUPS = UsageRollup._meta.db_table
# An org's active members (to look them up by email).
MEMBERS = (
    f"FROM {Membership._meta.db_table} m JOIN {User._meta.db_table} u ON u.id = m.user_id "
    "WHERE m.org_id = %s AND m.removed_at IS NULL"
)
# Ends a statement sent with the COMMIT after it (for whoever reads the statements logged).
COMMIT_MARK = " /* sent with its COMMIT */"
# Up to this many rows (or values), PostgreSQL gets them as parameters: decoding JSON costs more for a few.
MANY = 8


@functools.cache
def _postgres() -> bool:
    return connection.vendor == "postgresql"


def counter_lock_key(meter: str, subject: str) -> tuple[str, bool, str]:
    """The one order every writer locks an org's counters in (the org's own first within a meter), or two
    writers each holding one that the other wants deadlock. Python compares code points, as collation "C" does."""
    return meter, subject != ORG_SUBJECT, subject


def _counter_lock_order(alias: str) -> str:
    collate = ' COLLATE "C"' if _postgres() else ""  # SQLite compares bytes already
    return f"{alias}.meter{collate}, {alias}.subject <> '{ORG_SUBJECT}', {alias}.subject{collate}"


def _marks(count: int) -> str:
    return ", ".join(["%s"] * count)


def _adapt(value: Any) -> Any:
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    if isinstance(value, date):
        return connection.ops.adapt_datefield_value(value)
    return value


def _datetime(value: Any) -> datetime | None:
    """A timestamp read back from a raw query: SQLite gives its text (UTC), PostgreSQL a datetime."""
    if value is None or isinstance(value, datetime):
        return value
    parsed = parse_datetime(value)
    assert parsed is not None, value
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@functools.cache
def _fields(model: type[models.Model], *names: str) -> tuple[tuple[str, str], ...]:
    """(column, PostgreSQL type) of the model's fields; varchar without its length, so that a value too long
    for its column fails on writing instead of being cut short by the cast."""
    fields = [model._meta.get_field(name) for name in names]
    types = [field.db_type(connection) or "" for field in fields]  # type: ignore[union-attr]
    return tuple(
        (field.column, "varchar" if db_type.startswith("varchar") else db_type)  # type: ignore[union-attr]
        for field, db_type in zip(fields, types, strict=True)
    )


def _json(values: Any) -> str:
    return orjson.dumps(values).decode()  # datetimes and dates as ISO 8601


def _table(name: str, columns: tuple[tuple[str, str], ...], rows: Sequence[Sequence[Any]]) -> tuple[str, list[Any]]:
    """`name(columns) AS (...)` holding `rows`; columns are (name, PostgreSQL type) pairs.

    Many rows go to PostgreSQL as one JSON array of arrays (a parameter per value or an array per column costs
    psycopg ~15 ms per 1,000 rows), read as jsonb: the server parses it once, where `->>` on json parses each row
    again for every column (measured: ~12 ms of server time per 1,000-event batch).
    """
    assert rows, name
    head = f"{name}({', '.join(column for column, _ in columns)}) AS"
    if not _postgres():
        values = ", ".join([f"({_marks(len(columns))})"] * len(rows))
        return f"{head} (VALUES {values})", [_adapt(v) for row in rows for v in row]
    if len(rows) > MANY:
        cells = ", ".join(f"(r->>{index})::{db_type}" for index, (_, db_type) in enumerate(columns))
        return f"{head} (SELECT {cells} FROM jsonb_array_elements(%s::jsonb) r)", [_json(rows)]
    typed = ", ".join(f"%s::{db_type}" for _, db_type in columns)  # the first row's types are the table's
    values = ", ".join([f"({typed})", *[f"({_marks(len(columns))})"] * (len(rows) - 1)])
    return f"{head} (VALUES {values})", [v for row in rows for v in row]


def _in(column: str, values: Collection[Any], db_type: str) -> tuple[str, list[Any]]:
    """`column` is one of `values` (one JSON parameter on PostgreSQL when they are many)."""
    if _postgres() and len(values) > MANY:
        sql = f"{column} IN (SELECT value::{db_type} FROM jsonb_array_elements_text(%s::jsonb))"
        return sql, [_json(list(values))]
    return f"{column} IN ({_marks(len(values))})", list(values)


def _owns_transaction() -> bool:
    """Whether the one atomic block open started the transaction and commits it on exit (on PostgreSQL, with
    psycopg 3, which can send a statement and the COMMIT after it together)."""
    return (
        _postgres()
        and len(connection.atomic_blocks) == 1
        and connection.commit_on_exit
        and not connection.needs_rollback
        and hasattr(connection.connection, "pipeline")
    )


def _fetch(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with server_cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()  # type: ignore[no-any-return]


def _execute(sql: str, params: Sequence[Any], *, commit: bool = False) -> None:
    """Run `sql`; with `commit`, commit the transaction in the same round trip (a psycopg pipeline): the atomic
    block's own commit then finds nothing left to do."""
    with server_cursor() as cursor:
        if not commit:
            cursor.execute(sql, params)
            return
        with connection.wrap_database_errors, connection.connection.pipeline():
            cursor.execute(sql, params)
            connection.connection.commit()


def _refs(
    *,
    org_id: int,
    meters: set[str],
    emails: set[str],
    slugs: set[str],
    rate_keys: dict[str, set[str]],
    owner: bool,
) -> tuple[list[str], list[Any]]:
    """The parts of a UNION ALL giving (kind, name, id, a, b) for the meters, members, spaces, rates and owner.

    kind is 'meter', 'member', 'owner', 'space' (a = read-only) or a line item (a = credits, b = per units).
    """
    where, params = _in("code", meters, "text")
    parts, values = [f"SELECT 'meter', code, id, 0, 0 FROM {Meter._meta.db_table} WHERE {where}"], [*params]
    if emails:
        where, params = _in("u.email", emails, "text")
        parts.append(f"SELECT 'member', u.email, m.id, 0, 0 {MEMBERS} AND {where}")
        values += [org_id, *params]
    if owner:
        parts.append(f"SELECT 'owner', u.email, m.id, 0, 0 {MEMBERS} AND m.role = 'owner'")
        values.append(org_id)
    if slugs:
        where, params = _in("slug", slugs, "text")
        parts.append(
            f"SELECT 'space', slug, id, CASE WHEN read_only THEN 1 ELSE 0 END, 0 FROM {Space._meta.db_table} "
            f"WHERE org_id = %s AND {where}"
        )
        values += [org_id, *params]
    for line_item, keys in rate_keys.items():
        where, params = _in("key", keys, "text")
        parts.append(
            f"SELECT line_item, key, id, credits, per_units FROM {CreditRate._meta.db_table} "
            f"WHERE line_item = %s AND {where}"
        )
        values += [line_item, *params]
    return parts, values


# An event's own columns; the rest are the request's (org, mode, time, key) or come with its answer.
EVENT_COLUMNS = (
    "key",
    "meter",
    "quantity",
    "model",
    "agent",
    "integration",
    "success",
    "byok",
    "counted",
    "occurred_at",
)


def events_claim(
    *,
    org_id: int,
    test_mode: bool,
    received_at: datetime,
    api_key_id: int | None,
    events: list[tuple[Any, ...]],
    **refs: Any,
) -> tuple[dict[str, int], list[tuple[str, str, int, int, int]]]:
    """Insert events (rows of EVENT_COLUMNS) unless their key exists, and look up the names they use, in one
    round trip on PostgreSQL. Waits on a concurrent request holding the same key.

    Returns ({key: id} of the events inserted, the (kind, name, id, a, b) rows of `_refs(**refs)`).
    """
    parts, values = _refs(org_id=org_id, **refs)
    if not events:
        return {}, _fetch(" UNION ALL ".join(parts), values)  # type: ignore[return-value]
    source, params = _table("e", _fields(UsageEvent, *EVENT_COLUMNS), events)
    # Keys are claimed in one order, so that requests sharing keys wait on each other instead of deadlocking.
    insert = (
        f"INSERT INTO {EVENTS} (org_id, test_mode, received_at, api_key_id, used, state, credits, "
        f"{', '.join(EVENT_COLUMNS)}) SELECT %s, %s, %s, %s, 0, 'ok', 0, e.* FROM e ORDER BY e.key "
        "ON CONFLICT (org_id, test_mode, key) DO NOTHING RETURNING key, id"
    )
    params += [org_id, test_mode, _adapt(received_at), api_key_id]
    if _postgres():  # the insert as a CTE, what it claimed in the same answer as the names
        rows = _fetch(
            f"WITH {source}, claimed AS ({insert}) SELECT 'claimed', key, id, 0, 0 FROM claimed "
            f"UNION ALL {' UNION ALL '.join(parts)}",
            [*params, *values],
        )
        claimed = {name: pk for kind, name, pk, _, _ in rows if kind == "claimed"}
        return claimed, [row for row in rows if row[0] != "claimed"]  # type: ignore[misc]
    return dict(_fetch(f"WITH {source} {insert}", params)), _fetch(" UNION ALL ".join(parts), values)  # type: ignore[return-value]


def events_answered(
    *, org_id: int, test_mode: bool, keys: Collection[str]
) -> list[tuple[str, bool, str, int, int | None, str]]:
    """(key, counted, meter, used, quota, state) of stored events: the answers repeated keys get back."""
    where, params = _in("key", keys, "text")
    sql = (
        f"SELECT key, counted, meter, used, quota, state FROM {EVENTS} WHERE org_id = %s AND test_mode = %s "
        f"AND {where}"
    )
    return [(k, bool(c), m, u, q, s) for k, c, m, u, q, s in _fetch(sql, [org_id, test_mode, *params])]


CounterRow = tuple[int, str, str, int, "int | None", "int | None", bool]
PoolRow = tuple[int, "int | None", datetime, int, int, int, "datetime | None", bool]


def hot_rows(
    *,
    org_id: int,
    window_start: datetime,
    counters: list[tuple[str, str]],
    pools: Collection[int | None],
    lock: bool,
) -> tuple[list[CounterRow], list[PoolRow]]:
    """The window's counters (meter, subject) and the credit pools (by member; None: the org's), in one query.

    With `lock`, PostgreSQL locks them all, in the hot path's order (SQLite's write transaction already keeps
    everyone else out). Missing rows are left out. Returns (id, meter, subject, used, quota, hard_limit,
    limits_set) and (id, member_id, window_start, allotment_balance, topup_balance, cycle_grant,
    low_alert_sent_for, low_alert_open) rows.
    """
    lock = lock and _postgres()
    wanted, params = _table("w", _fields(UsageCounter, "meter", "subject"), counters)
    sql = (
        f"WITH {wanted} SELECT 'c', id, meter, subject, used, quota, hard_limit, limits_set, "
        "CAST(NULL AS bigint), CAST(NULL AS timestamp with time zone), CAST(NULL AS timestamp with time zone) "
        f"FROM (SELECT c.* FROM {COUNTERS} c JOIN w ON c.meter = w.meter AND c.subject = w.subject "
        "WHERE c.org_id = %s AND c.window_start = %s "
        f"ORDER BY {_counter_lock_order('c')}{' FOR UPDATE OF c' if lock else ''}) c"
    )
    params += [org_id, _adapt(window_start)]
    if pools:
        conditions = ["member_id IS NULL"] if None in pools else []
        members = [member_id for member_id in pools if member_id is not None]
        if members:
            where, values = _in("member_id", members, "bigint")
            conditions.append(where)
            params += values
        sql += (
            " UNION ALL SELECT 'p', id, NULL, NULL, allotment_balance, topup_balance, cycle_grant, low_alert_open, "
            f"member_id, window_start, low_alert_sent_for FROM (SELECT * FROM {POOLS} "
            f"WHERE ({' OR '.join(conditions)}) AND org_id = %s ORDER BY id{' FOR UPDATE' if lock else ''}) p"
        )
        params.append(org_id)
    rows = _fetch(sql, params)
    counter_rows: list[CounterRow] = []
    pool_rows: list[PoolRow] = []
    for kind, pk, meter, subject, a, b, c, flag, member_id, start, alerted in rows:
        if kind == "c":
            counter_rows.append((pk, meter, subject, a, b, c, bool(flag)))
        else:
            pool_rows.append((pk, member_id, _datetime(start), a, b, c, _datetime(alerted), bool(flag)))  # type: ignore[arg-type]
    return counter_rows, pool_rows


def counters_create(
    *, org_id: int, window_start: datetime, subjects: list[tuple[str, str, int | None, int | None]]
) -> None:
    """Create the member and space counters (meter, subject, member_id, space_id) not there yet, uncapped.

    Runs outside the hot path's transaction: it waits for no lock while holding one.
    """
    source, params = _table("n", _fields(UsageCounter, "meter", "subject", "member", "space"), subjects)
    _execute(
        f"WITH {source} INSERT INTO {COUNTERS} (org_id, window_start, limits_set, used, meter, subject, "
        "member_id, space_id) SELECT %s, %s, true, 0, n.* FROM n WHERE true "
        "ON CONFLICT (org_id, meter, window_start, subject) DO NOTHING",
        [*params, org_id, _adapt(window_start)],
    )


ANSWER_COLUMNS = ("id", "used", "quota", "state", "member", "space", "credits")
POOL_COLUMNS = ("id", "allotment_balance", "topup_balance", "low_alert_sent_for", "low_alert_open")
ROLLUP_KEYS = ("org", "day", "dimensions", "meter", "member", "space", "model", "agent", "integration", "line_item")
ROLLUP_SUMS = ("events", "failed_events", "quantity", "credits")


def usage_write(
    *,
    org_id: int,
    at: datetime,
    counters: list[tuple[int, int]],
    pools: list[tuple[Any, ...]],
    debits: list[tuple[Any, ...]],
    answers: list[tuple[Any, ...]],
    deleted: list[int],
    rollups: list[tuple[Any, ...]],
) -> None:
    """Everything a request changes, in one statement on PostgreSQL (one per table on SQLite).

    counters: (id, used); pools: POOL_COLUMNS; debits: ledger DEBIT_COLUMNS, entries of kind debit at `at`;
    answers: ANSWER_COLUMNS of the events stored; deleted: ids of the events refused; rollups: ROLLUP_KEYS +
    ROLLUP_SUMS, one row per key, added to the daily totals in (day, dimensions) order. A transaction of its own
    commits in the same round trip, so the hot rows are held one round trip less (its atomic block then finds
    nothing left to commit).
    """
    parts: list[tuple[str, str, list[Any], str, list[Any]]] = []

    def part(name: str, columns: tuple[tuple[str, str], ...], rows: Sequence[Any], dml: str, *params: Any) -> None:
        """`dml` reading `rows` as the table `name`, with `params` for its own placeholders."""
        if rows:
            source, values = _table(name, columns, rows)
            parts.append((name, source, values, dml, list(params)))

    def update(table: str, source: str, model: type[models.Model], names: tuple[str, ...], rows: Sequence[Any]) -> None:
        """UPDATE `table` by id from rows of (id, *values) of the model's fields `names`."""
        columns = _fields(model, *names)
        sets = ", ".join(f"{column} = {source}.{column}" for column, _ in columns[1:])
        part(source, columns, rows, f"UPDATE {table} SET {sets} FROM {source} WHERE {table}.id = {source}.id")

    update(COUNTERS, "cv", UsageCounter, ("id", "used"), counters)
    update(POOLS, "pv", CreditPool, POOL_COLUMNS, pools)
    part(
        "dv",
        _fields(CreditEntry, *DEBIT_COLUMNS),
        debits,
        f"INSERT INTO {ENTRIES} (org_id, kind, at, reason, actor_label, {', '.join(DEBIT_COLUMNS)}) "
        f"SELECT %s, '{EntryKind.DEBIT}', %s, '', '', dv.* FROM dv",
        org_id,
        _adapt(at),
    )
    update(EVENTS, "av", UsageEvent, ANSWER_COLUMNS, answers)
    deletes = f"DELETE FROM {EVENTS} WHERE id IN (SELECT id FROM xv)"
    part("xv", _fields(UsageEvent, "id"), [(pk,) for pk in deleted], deletes)
    rollup_columns = _fields(UsageRollup, *ROLLUP_KEYS, *ROLLUP_SUMS)
    part(
        "rv",
        rollup_columns,
        sorted(rollups, key=lambda row: (row[1], row[2])),
        f"INSERT INTO {ROLLUPS} ({', '.join(column for column, _ in rollup_columns)}) SELECT * FROM rv WHERE true "
        "ON CONFLICT (org_id, day, dimensions) DO UPDATE SET "
        + ", ".join(f"{name} = {ROLLUPS}.{name} + excluded.{name}" for name in ROLLUP_SUMS),
    )
    if not parts:
        return
    if not _postgres():
        for _, source, values, dml, params in parts:
            _execute(f"WITH {source} {dml}", [*values, *params])
        return
    ctes = ", ".join(f"{source}, {name}_done AS ({dml})" for name, source, _, dml, _ in parts)
    params = [v for _, _, values, _, more in parts for v in (*values, *more)]
    commit = _owns_transaction()
    _execute(f"WITH {ctes} SELECT 1{COMMIT_MARK if commit else ''}", params, commit=commit)
