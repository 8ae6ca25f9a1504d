"""Database triggers that refuse UPDATE, DELETE and TRUNCATE on audit events.

The application never changes an audit row (AuditEvent.save/delete refuse too); the triggers
stop a stray query or a bug that bypasses the ORM.
"""

from __future__ import annotations

from typing import Any

SQLITE_ON = [
    """CREATE TRIGGER IF NOT EXISTS audit_event_no_update BEFORE UPDATE ON audit_auditevent
       BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;""",
    """CREATE TRIGGER IF NOT EXISTS audit_event_no_delete BEFORE DELETE ON audit_auditevent
       BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;""",
]
SQLITE_OFF = [
    "DROP TRIGGER IF EXISTS audit_event_no_update;",
    "DROP TRIGGER IF EXISTS audit_event_no_delete;",
]

POSTGRES_ON = [
    """CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'audit events are append-only'; END; $$ LANGUAGE plpgsql;""",
    """CREATE OR REPLACE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_auditevent
       FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();""",
    """CREATE OR REPLACE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_auditevent
       FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only();""",
]
POSTGRES_OFF = [
    "DROP TRIGGER IF EXISTS audit_event_no_change ON audit_auditevent;",
    "DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_auditevent;",
]


def statements(connection: Any, *, on: bool) -> list[str]:
    if connection.vendor == "postgresql":
        return POSTGRES_ON if on else POSTGRES_OFF
    return SQLITE_ON if on else SQLITE_OFF


def set_triggers(connection: Any, *, on: bool) -> None:
    with connection.cursor() as cursor:
        for sql in statements(connection, on=on):
            cursor.execute(sql)
