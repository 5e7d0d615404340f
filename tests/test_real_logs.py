"""Public real samples (tests/data/real, origins in its README) read by each source kind,
with the events they must give checked by hand: counts, actions, tables, users."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from insiderwatch.errors import ConfigError
from insiderwatch.ingest import ingest_logs
from insiderwatch.sources.kinds import SourceOptions, source_for
from insiderwatch.sources.mapping import shipped_mappings
from insiderwatch.sources.sql_access import SqlMap

REAL = Path(__file__).parent / "data" / "real"
REGRESSION_MAP = SqlMap.load(REAL / "sql-map.yaml")


def _read(kind: str, path: Path, **options) -> tuple[list[dict], list, dict]:
    """(events ordered by source line, malformed lines, skipped counts) of one file."""
    source = source_for(kind, SourceOptions(**options))
    batches = list(source.batches(path))
    rows = [row for b in batches for row in b.data.to_pylist()]
    return (
        sorted(rows, key=lambda r: r["_row"]),
        [m for b in batches for m in b.malformed],
        dict(source.skipped),
    )


# -- pgaudit: its own regression output, in Debian's default stderr format ------------

# (line, user, action, fields, record_count) read by hand from the fixture.
PGAUDIT_EVENTS = [
    (3, "pgaudit:regress_user2", "update", "name", None),  # EXECUTE of a prepared INSERT
    (6, "pgaudit:regress_user2", "update", "name", None),
    (8, "pgaudit:regress_user1", "search", "name", None),  # SELECT name FROM account
    (11, "pgaudit:regress_user1", "update", "", None),  # OBJECT + SESSION: one event
    (17, "pgaudit:regress_user1", "update", "", None),
    (24, "pgaudit:regress_user1", "search", "name;notes", None),  # statement <not logged>
    (35, "pgaudit:postgres", "export", "name;notes", None),  # COPY account TO stdout
    (36, "pgaudit:postgres", "copy", "name;notes", None),  # CREATE TABLE AS, twice logged
    (47, "pgaudit:postgres", "view", "name;notes", None),  # EXECUTE ... WHERE id = $1
    (65, "pgaudit:postgres", "update", "", "1"),  # trigger UPDATE, parameters ",,,,1"
    (68, "pgaudit:postgres", "update", "name", "1"),
    (70, "pgaudit:postgres", "update", "", "1"),
    (73, "pgaudit:postgres", "update", "name", "1"),
    (75, "pgaudit:postgres", "update", "", "1"),
    (78, "pgaudit:postgres", "update", "name", "1"),
    (80, "pgaudit:postgres", "search", "name", None),  # GRAPH_TABLE over graph_vertex
]


@pytest.fixture(scope="module")
def pgaudit_regression():
    return _read("pgaudit", REAL / "pgaudit-regression.log", sql_map=REGRESSION_MAP)


def test_pgaudit_regression_output_gives_the_hand_checked_events(pgaudit_regression):
    events, malformed, skipped = pgaudit_regression
    got = [
        (e["_row"], e["employee_id"], e["action"], e["fields"], e["record_count"]) for e in events
    ]
    assert malformed == []
    assert got == PGAUDIT_EVENTS


def test_pgaudit_repeats_without_a_session_id_fold_into_one_event(pgaudit_regression):
    events, _, skipped = pgaudit_regression
    # OBJECT+SESSION of two UPDATEs, the CREATE TABLE AS substatement, the graph's table.
    assert skipped["same_statement"] == 4
    assert len({e["event_id"] for e in events}) == len(events)


def test_pgaudit_definitions_are_not_access(pgaudit_regression):
    events, _, skipped = pgaudit_regression
    # PREPARE only defines (its EXECUTE is the event at line 47); CREATE VIEW ... AS
    # SELECT, CREATE FUNCTION/TRIGGER, SET, ALTER ROLE read nothing.
    assert skipped["prepare"] == 1
    assert 32 not in {e["_row"] for e in events}  # CREATE VIEW vw_test3 AS SELECT ...
    assert skipped["not_customer_data"] == 19


STDERR = "%m [%p] %q%u@%d "


def _stderr_log(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "postgresql-15-main.log"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_pgaudit_quoted_parameters_with_commas_keep_the_row_count(tmp_path):
    path = _stderr_log(
        tmp_path,
        [
            "2026-09-01 10:00:00.000 UTC [7] ann@shop LOG:  AUDIT: SESSION,1,1,READ,SELECT,"
            'TABLE,public.customers,"SELECT name FROM customers WHERE city = $1 AND x = $2",'
            '"Paris, France,2",14'
        ],
    )
    events, malformed, _ = _read("pgaudit", path, log_line_prefix=STDERR)
    assert malformed == []
    assert [(e["action"], e["record_count"]) for e in events] == [("search", "14")]


@pytest.mark.parametrize(
    ("prefix", "worker", "session"),
    [
        # A parallel worker is no session: Debian's prefix prints nothing after %q.
        (STDERR, "[8] ", "[7] ann@shop "),
        ("%m [%p] [%b] %q%u@%d ", "[8] [parallel worker] ", "[7] [client backend] ann@shop "),
    ],
)
def test_pgaudit_parallel_worker_lines_are_skipped_not_rejected(tmp_path, prefix, worker, session):
    entry = "LOG:  AUDIT: SESSION,1,1,READ,SELECT,,,SELECT * FROM customers,<not logged>"
    path = _stderr_log(
        tmp_path,
        [
            f"2026-09-01 10:00:00.000 UTC {worker}{entry}",
            f"2026-09-01 10:00:00.000 UTC {session}{entry}",
        ],
    )
    events, malformed, skipped = _read("pgaudit", path, log_line_prefix=prefix)
    assert malformed == []
    assert [(e["_row"], e["employee_id"]) for e in events] == [(2, "pgaudit:ann")]
    assert skipped["internal"] == 1


def test_pgaudit_session_reusing_a_pid_is_a_new_statement(tmp_path):
    # Statement ids restart in a new session on the same pid: not a repeat.
    entry = "AUDIT: SESSION,{},1,READ,SELECT,,,SELECT * FROM customers,<not logged>"
    path = _stderr_log(
        tmp_path,
        [
            f"2026-09-01 10:00:00.000 UTC [7] ann@shop LOG:  {entry.format(1)}",
            f"2026-09-01 10:00:01.000 UTC [7] ann@shop LOG:  {entry.format(2)}",
            f"2026-09-01 11:00:00.000 UTC [7] bob@shop LOG:  {entry.format(1)}",
        ],
    )
    events, _, skipped = _read("pgaudit", path, log_line_prefix=STDERR)
    assert [e["employee_id"] for e in events] == ["pgaudit:ann", "pgaudit:ann", "pgaudit:bob"]
    assert "same_statement" not in skipped


# -- MariaDB server_audit: its mysql-test results ---------------------------------------


def test_mariadb_trigger_statements_are_not_the_users_writes():
    events, malformed, skipped = _read(
        "mariadb-audit", REAL / "mariadb-triggers.log", sql_map=REGRESSION_MAP
    )
    # Three INSERTs into source, and the one the called procedure ran: each fired two
    # triggers (dest, dest_2) per row, logged before it and counted, not loaded.
    assert malformed == []
    assert [(e["_row"], e["action"]) for e in events] == [
        (11, "update"),
        (14, "update"),
        (19, "update"),
        (24, "update"),
    ]
    assert skipped["trigger"] == 12
    # CREATE TABLE/TRIGGER/PROCEDURE, CALL, DROP, SET and USE show no customer data.
    assert skipped["not_customer_data"] == 12


def test_mariadb_create_procedure_is_not_a_search(tmp_path):
    path = tmp_path / "server_audit.log"
    path.write_text(
        "20260901 10:00:00,db1,ann,localhost,4,45,QUERY,shop,'CREATE PROCEDURE p (IN i int)"
        "\\nBEGIN\\nSELECT * FROM customers WHERE id = i;\\nEND',0\n"
    )
    events, _, skipped = _read("mariadb-audit", path)
    assert (events, skipped) == ([], {"not_customer_data": 1})


@pytest.mark.parametrize(
    ("name", "table_events"), [("mariadb-tables.log", 10), ("mariadb-tables-only.log", 5)]
)
def test_mariadb_table_events_accompany_queries_or_stand_alone(name, table_events):
    events, malformed, skipped = _read("mariadb-audit", REAL / name, sql_map=REGRESSION_MAP)
    assert malformed == []
    # insert into t1, select * from t1, insert into t2, select * from t2: with QUERY
    # lines from the statements, with TABLE lines alone from their WRITE/READ lines.
    assert [(e["action"], e["fields"], e["employee_id"]) for e in events] == [
        ("update", "name", "mariadb-audit:root"),
        ("search", "name", "mariadb-audit:root"),
        ("update", "name", "mariadb-audit:root"),
        ("search", "name", "mariadb-audit:root"),
    ]
    assert skipped["table_event"] == table_events


@pytest.mark.parametrize(
    ("date_format", "stamp", "time"),
    [
        ("%Y%m%d %H:%i:%s", "20260901 10:00:05", "2026-09-01T10:00:05"),
        ("%Y-%m-%d %H:%i:%s %z", "2026-09-01 15:00:05 +0500", "2026-09-01T15:00:05+05:00"),
        ("%d/%M/%Y %T", "01/September/2026 10:00:05", "2026-09-01T10:00:05"),
    ],
)
def test_mariadb_custom_timestamp_format(tmp_path, date_format, stamp, time):
    path = tmp_path / "server_audit.log"
    path.write_text(f"{stamp},db1,ann,localhost,4,9,QUERY,shop,'SELECT * FROM customers',0\n")
    events, malformed, _ = _read("mariadb-audit", path, mariadb_timestamp_format=date_format)
    assert malformed == []
    assert [e["time"] for e in events] == [time]


def test_mariadb_timestamp_format_without_a_time_is_refused(tmp_path):
    path = tmp_path / "server_audit.log"
    path.write_text("2026-09-01,db1,ann,localhost,4,9,QUERY,shop,'SELECT 1',0\n")
    with pytest.raises(ConfigError, match="mariadb_timestamp_format"):
        _read("mariadb-audit", path, mariadb_timestamp_format="CUSTOM-DATE %Y-%m-%d")


# -- OCSF: the OCSF examples repository ----------------------------------------------


def test_ocsf_api_calls_on_no_customer_are_not_access():
    # GitHub (an "Other" activity), Okta (a create on no resource) and AWS CloudTrail (a
    # read of no resource): none names a customer.
    events, malformed, skipped = _read("ocsf", REAL / "ocsf-api-activity.jsonl")
    assert (events, malformed) == ([], [])
    assert skipped == {"filtered": 1, "missing_required": 2}


def test_ocsf_epochs_are_read_by_magnitude(tmp_path):
    # The shipped mapping without its customer requirement, to see every time.
    shipped = yaml.safe_load(shipped_mappings()["ocsf"].read_text())
    shipped.pop("require")
    shipped["filter"]["in"].append(600399)
    mapping = tmp_path / "ocsf-all.yaml"
    mapping.write_text(yaml.safe_dump(shipped))
    events, _, _ = _read("mapped", REAL / "ocsf-api-activity.jsonl", mapping=mapping)
    # milliseconds (GitHub, AWS) and seconds (Okta's sample) agree with their time_dt.
    assert [e["time"] for e in events] == [
        "2024-10-17T14:42:46.108000Z",
        "2024-08-13T15:58:20.000000Z",
        "2023-09-21T22:22:52.000000Z",
    ]


def _ocsf_event(**changes) -> str:
    event = {
        "type_uid": 600302,
        "time": 1788253200000,
        "actor": {"user": {"uid": "u-ann"}},
        "resources": [{"type": "Patient", "uid": "p-1"}, {"type": "Template", "uid": "t-1"}],
    }
    event.update(changes)
    return json.dumps(event) + "\n"


def test_ocsf_microsecond_epochs_and_customer_resource_types(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text(_ocsf_event(time=1788253200123456) + _ocsf_event(time=1788253200))
    events, malformed, _ = _read("ocsf", path)
    assert malformed == []
    assert [(e["time"], e["customer_ids"]) for e in events] == [
        ("2026-09-01T09:00:00.123456Z", "p-1"),
        ("2026-09-01T09:00:00.000000Z", "p-1"),
    ]


def test_ocsf_events_without_uid_get_the_same_id_in_any_file(tmp_path):
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_text(_ocsf_event() + _ocsf_event(time=1788253260000))
    second.write_text("\n" + _ocsf_event(time=1788253260000))
    ids = [[e["event_id"] for e in _read("ocsf", p)[0]] for p in (first, second)]
    assert ids[1] == ids[0][1:] and ids[0][0] != ids[0][1]


# -- FHIR AuditEvent: HL7's examples --------------------------------------------------


def test_fhir_auditevents_give_who_opened_which_patient():
    events, malformed, skipped = _read(
        "mapped", REAL / "fhir-auditevents.jsonl", mapping=Path("fhir-auditevent")
    )
    assert malformed == []
    got = [(e["event_id"], e["employee_id"], e["action"], e["customer_ids"]) for e in events]
    assert got == [
        # an export of Patient/example (and its version 1): one patient
        ("fhir-audit-example-disclosure", "fhir:SomeIdiot@nowhere", "export", "example"),
        ("fhir-audit-example-rest-create-traceID", "fhir:95", "update", "example"),
    ]
    assert [e["time"] for e in events] == ["2013-09-22T00:08:00Z", "2019-12-04T11:59:28.646+00:00"]
    assert skipped == {"missing_required": 1}  # a search of Encounters names no patient


def _fhir_event(who: dict, reference: str = "Patient/p-7") -> str:
    return json.dumps(
        {
            "id": "e1",
            "recorded": "2026-09-01T10:00:00Z",
            "action": "R",
            "agent": [{"who": who, "requestor": True}],
            "entity": [{"what": {"reference": reference}}],
        }
    )


def test_fhir_prefixes_are_stripped_and_patients_reading_their_record_skipped(tmp_path):
    path = tmp_path / "audit.jsonl"
    lines = [
        _fhir_event({"reference": "Practitioner/dr-1"}),
        _fhir_event({"reference": "Patient/p-7"}),
        _fhir_event({"reference": "Practitioner/dr-1"}, reference="Observation/o-1"),
    ]
    path.write_text("\n".join(lines) + "\n")
    events, _, skipped = _read("mapped", path, mapping=Path("fhir-auditevent"))
    assert [(e["employee_id"], e["action"], e["customer_ids"]) for e in events] == [
        ("fhir:dr-1", "view", "p-7")
    ]
    assert skipped == {"filtered": 1, "missing_required": 1}


# -- Zendesk: an end user updating their own ticket -----------------------------------


def test_zendesk_audits_by_the_requester_are_not_staff_access(tmp_path):
    audit = {
        "id": 1,
        "ticket_id": 47,
        "created_at": "2026-09-01T09:15:00Z",
        "events": [{"type": "Create", "field_name": "requester_id", "value": 35436}],
    }
    path = tmp_path / "audits.jsonl"
    path.write_text(
        json.dumps({**audit, "author_id": 35436})
        + "\n"
        + json.dumps({**audit, "id": 2, "author_id": 9})
        + "\n"
    )
    events, _, skipped = _read("mapped", path, mapping=Path("zendesk-ticket-audits"))
    assert [(e["employee_id"], e["customer_ids"]) for e in events] == [("zendesk:9", "35436")]
    assert skipped == {"filtered": 1}


def test_unknown_row_counts_are_stored_as_unknown_not_zero(store, hash_key):
    options = SourceOptions(sql_map=REGRESSION_MAP)
    report = ingest_logs(store, "pgaudit", [REAL / "pgaudit-regression.log"], hash_key, options)
    assert report.files[0].counts.loaded == len(PGAUDIT_EVENTS)
    counts = dict(
        store.con.execute(
            "SELECT action, list(DISTINCT record_count) FROM access "
            "WHERE action IN ('search', 'export', 'copy') GROUP BY action"
        ).fetchall()
    )
    # No row count logged and no customer named: unknown, where 0 would say "none shown".
    assert counts == {"search": [None], "export": [None], "copy": [None]}
