"""Database helpers that more than one app needs."""

from __future__ import annotations

from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections


def server_cursor(alias: str = DEFAULT_DB_ALIAS) -> Any:
    """A cursor, logged like Django's, that binds parameters on the server, so psycopg prepares a statement its
    connection runs often (DB_PREPARE_THRESHOLD) and PostgreSQL plans it once: for the statements every API call
    runs (this key lookup, the metering hot path). Django's own cursor elsewhere (SQLite, psycopg2)."""
    db = connections[alias]
    try:
        from psycopg import ClientCursor, Cursor
    except ImportError:
        return db.cursor()
    if db.vendor != "postgresql":
        return db.cursor()
    db.close_if_health_check_failed()
    db.ensure_connection()
    db.validate_thread_sharing()
    factory = db.connection.cursor_factory
    raw = (Cursor if issubclass(factory, ClientCursor) else factory)(db.connection)
    return db.make_debug_cursor(raw) if db.queries_logged else db.make_cursor(raw)
