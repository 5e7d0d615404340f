"""The audit log on SQLite and PostgreSQL: the database refuses changes, the hash chain
shows any made behind its back, and workflow changes land in it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from insiderwatch.app.ops import audit_entries, record_read, verify_audit
from insiderwatch.store.ops import OpsStore, open_ops


@pytest.fixture
def ops(ops_url: str) -> Iterator[OpsStore]:
    with open_ops(ops_url) as opened:
        for i in range(5):
            record_read(
                ops=opened, actor="ana", subject_kind="employee", subject_id=f"E{i}", why="case 7"
            )
        yield opened


@pytest.mark.parametrize(
    "change",
    [
        "UPDATE audit_log SET actor = 'someone else' WHERE seq = 2",
        "DELETE FROM audit_log WHERE seq = 5",
        "UPDATE transitions SET actor = 'x'",  # workflow history is append-only too
    ],
)
def test_the_database_refuses_to_change_history(ops: OpsStore, change: str) -> None:
    with pytest.raises(DBAPIError, match="append-only"), ops.engine.begin() as con:
        con.execute(
            text(
                "INSERT INTO transitions (subject, subject_id, to_state, actor, at, why) "
                "VALUES ('case', '1', 'new', 'a', CURRENT_TIMESTAMP, '')"
            )
        )
        con.execute(text(change))
    assert verify_audit(ops).ok


def test_a_clean_chain_verifies_and_lists_newest_first(ops: OpsStore) -> None:
    result = verify_audit(ops)
    assert result.ok and result.entries == 5 and len(result.head) == 64
    listed = audit_entries(ops, subject_id="E3")
    assert [(e.seq, e.action, e.why) for e in listed] == [(4, "employee.read", "case 7")]
    assert [e.seq for e in audit_entries(ops, limit=2)] == [5, 4]


def _behind_the_triggers(ops: OpsStore, sql: str) -> None:
    """What someone with the database's owner rights could do: switch the guard off."""
    with ops.engine.begin() as con:
        if ops.dialect == "postgresql":
            con.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
            con.execute(text(sql))
            con.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))
        else:
            con.execute(text("DROP TRIGGER audit_log_no_update"))
            con.execute(text("DROP TRIGGER audit_log_no_delete"))
            con.execute(text(sql))


@pytest.mark.parametrize(
    ("sql", "seq", "reason"),
    [
        ("UPDATE audit_log SET subject_id = 'E9' WHERE seq = 3", 3, "content changed"),
        ("UPDATE audit_log SET why = '' WHERE seq = 1", 1, "content changed"),
        ("DELETE FROM audit_log WHERE seq = 2", 3, "entries 2..2 missing"),
    ],
)
def test_tampering_behind_the_triggers_is_found(
    ops: OpsStore, sql: str, seq: int, reason: str
) -> None:
    _behind_the_triggers(ops, sql)
    result = verify_audit(ops)
    assert not result.ok
    assert any(p.seq == seq and reason in p.reason for p in result.problems), result.problems


def test_a_rewritten_entry_with_a_recomputed_hash_breaks_the_next_link(ops: OpsStore) -> None:
    from insiderwatch.store.ops.audit import entry_hash
    from insiderwatch.store.ops.models import AuditRow

    with ops.session() as s:
        row = s.get(AuditRow, 2)
        row.subject_id = "E9"
        forged = entry_hash(row.prev_hash, row)
        s.expunge(row)
    _behind_the_triggers(
        ops, f"UPDATE audit_log SET subject_id = 'E9', hash = '{forged}' WHERE seq = 2"
    )
    problems = verify_audit(ops).problems
    assert [(p.seq, p.reason) for p in problems] == [(3, "does not link to the entry before")]


def test_entries_keep_their_time_in_utc(ops: OpsStore) -> None:
    entry = audit_entries(ops, limit=1)[0]
    assert entry.at.tzinfo is not None and entry.at.utcoffset() == dt.timedelta(0)


def test_concurrent_appends_keep_one_unbroken_chain(ops: OpsStore) -> None:
    """Writers racing for the end of the chain take turns (advisory lock on PostgreSQL,
    BEGIN IMMEDIATE on SQLite): no fork, no gap, no duplicate seq."""
    from concurrent.futures import ThreadPoolExecutor

    def writer(n: int) -> None:
        for i in range(10):
            record_read(ops=ops, actor=f"w{n}", subject_kind="customer", subject_id=f"C{i}")

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(writer, range(4)))
    result = verify_audit(ops)
    assert result.ok, result.problems
    assert result.entries == 5 + 40
