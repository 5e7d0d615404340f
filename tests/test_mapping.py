"""The declarative mapping engine and the shipped mappings, on samples shaped like the
products' documented exports; every expectation is read off the sample files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from insiderwatch.errors import ConfigError, InsiderwatchError
from insiderwatch.ingest import check_mapping, ingest_logs
from insiderwatch.sources.identity import IdentityMap
from insiderwatch.sources.kinds import SourceOptions
from insiderwatch.sources.mapping import Mapping, shipped_mappings

DATA = Path(__file__).parent / "data" / "sources"


def _access(store) -> list[dict]:
    cur = store.con.execute(
        "SELECT event_id, time, employee_id, action, customer_ids, fields, record_count, app, "
        "case_id, src_ip, device_id, destination FROM access ORDER BY time, event_id"
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _ingest(store, key, kind, path, mapping=None, identities=None, **kw):
    options = SourceOptions(mapping=mapping, identities=identities or IdentityMap())
    return ingest_logs(store, kind, [path], key, options, **kw)


def test_every_shipped_mapping_loads():
    shipped = shipped_mappings()
    assert {"zendesk-ticket-audits", "salesforce-api", "salesforce-report-export"} <= set(shipped)
    assert {"hr-roster", "zendesk-tickets", "ocsf"} <= set(shipped)
    for path in shipped.values():
        assert Mapping.load(path).rules


def test_zendesk_ticket_audits(store, hash_key):
    _ingest(store, hash_key, "mapped", DATA / "hr-roster.csv", "hr-roster")
    ids = IdentityMap({"zendesk:35436": "E1"})
    report = _ingest(
        store, hash_key, "mapped", DATA / "zendesk-audits.jsonl", "zendesk-ticket-audits", ids
    )
    result = report.files[0]
    assert result.error is None
    assert result.counts.rows_read == 5
    events = _access(store)
    assert [(e["event_id"], e["employee_id"], e["action"]) for e in events] == [
        ("zendesk-audit-1001", "E1", "update"),
        ("zendesk-audit-1002", "E1", "update"),
        ("zendesk-audit-1003", "zendesk:777", "message"),
    ]
    first = events[0]
    assert first["customer_ids"] == ["c-9"]
    assert (first["case_id"], first["src_ip"], first["device_id"]) == (
        "47",
        "10.1.2.3",
        "Mozilla/5.0",
    )
    assert first["fields"] == ["notes"] and first["app"] == "zendesk"
    assert events[1]["customer_ids"] == []  # a status change names no requester
    letters = store.con.execute(
        "SELECT row_no, reason FROM dead_letters WHERE table_name = 'access' ORDER BY row_no"
    ).fetchall()
    assert letters == [(4, "not_a_timestamp"), (5, "malformed_row")]
    assert report.unmapped == {"zendesk:777": 1}


def test_salesforce_api_and_report_export(store, hash_key):
    api = _ingest(store, hash_key, "mapped", DATA / "salesforce-api.csv", "salesforce-api").files[0]
    assert api.error is None
    assert api.skipped["filtered"] == 1  # the RestApi row
    assert api.counts.rejected == 1  # the short row, named by its line
    assert store.scalar("SELECT row_no FROM dead_letters") == 6
    export = _ingest(
        store, hash_key, "mapped", DATA / "salesforce-report-export.csv", "salesforce-report-export"
    ).files[0]
    assert export.counts.loaded == 1
    got = [
        (
            e["event_id"],
            e["action"],
            sorted(e["fields"]),
            e["record_count"],
            e["app"],
            e["destination"],
        )
        for e in _access(store)
    ]
    assert got == [
        (
            "sfdc-4exLFFQZ1234",
            "search",
            ["address", "email", "name", "phone"],
            2000,
            "DataLoader",
            None,
        ),
        ("sfdc-4exLFFQZ1235", "view", ["address", "name", "phone"], 1, "salesforce-api", None),
        ("sfdc-4exLFFQZ1236", "view", [], 0, "Workbench", None),
        (
            "sfdc-3nWgxWbDKWWDIk0FKT",
            "export",
            ["address", "email", "name", "phone"],
            None,  # ReportExport logs no row count: unknown, not 0
            "salesforce",
            "local",
        ),
    ]


def test_hr_roster_joiners_movers_leavers(store, hash_key):
    first = _ingest(store, hash_key, "mapped", DATA / "hr-roster.csv", "hr-roster").files[0]
    assert (first.counts.loaded, first.counts.rejected) == (3, 1)  # E4's date is not ISO
    rows = store.con.execute(
        "SELECT employee_id, team, manager_id, CAST(departs_on AS VARCHAR) FROM employees ORDER BY 1"
    ).fetchall()
    assert rows == [
        ("E1", "blue", "E3", None),
        ("E2", "red", "E3", "2026-09-30"),
        ("E3", "blue", None, None),
    ]
    # A mover: the next export has E1 in another team; re-reading updates the row.
    moved = (
        (DATA / "hr-roster.csv")
        .read_text()
        .replace("E1,Ann,Lee,cs_agent,blue", "E1,Ann,Lee,cs_agent,green")
    )
    later = store.path.parent / "roster-later.csv"
    later.write_text(moved)
    again = _ingest(store, hash_key, "mapped", later, "hr-roster").files[0]
    assert again.counts.updated == 1
    assert store.scalar("SELECT team FROM employees WHERE employee_id = 'E1'") == "green"


def test_zendesk_tickets_become_cases(store, hash_key):
    ids = IdentityMap({"zendesk:35436": "E1", "zendesk:777": "E2"})
    for roster_or_tickets, name in (
        ("hr-roster.csv", "hr-roster"),
        ("zendesk-tickets.jsonl", "zendesk-tickets"),
    ):
        _ingest(store, hash_key, "mapped", DATA / roster_or_tickets, name, ids)
    cases = store.con.execute(
        "SELECT case_id, customer_id, employee_id, channel FROM cases ORDER BY case_id"
    ).fetchall()
    assert cases == [("47", "c-9", "E1", "web"), ("48", "c-7", "E2", "email")]


def test_ocsf_input(store, hash_key):
    _ingest(store, hash_key, "mapped", DATA / "hr-roster.csv", "hr-roster")
    ids = IdentityMap({"ocsf:u-ann": "E1"})
    result = _ingest(store, hash_key, "ocsf", DATA / "ocsf-events.jsonl", identities=ids).files[0]
    assert result.skipped["filtered"] == 1  # an Authentication event carries no data access
    assert result.skipped["missing_required"] == 1  # an API call on no customer
    got = [
        (e["employee_id"], e["action"], e["customer_ids"], e["app"], e["src_ip"])
        for e in _access(store)
    ]
    assert got == [
        ("E1", "view", ["c-9"], "crm", "10.0.0.5"),
        ("ocsf:u-bob", "search", ["c-7"], "warehouse", "10.0.0.6"),  # type "Contact"
        ("E1", "export", ["c-1", "c-2"], "portal", "10.0.0.5"),
    ]
    ids_ = [e["event_id"] for e in _access(store)]
    assert ids_[0] == "ocsf-evt-1" and ids_[2].startswith("ocsf-")  # no metadata.uid: derived


def test_reingest_and_growth_never_double_count(store, hash_key, tmp_path):
    log = tmp_path / "app.jsonl"
    lines = (DATA / "ocsf-events.jsonl").read_text().splitlines(keepends=True)
    log.write_text("".join(lines[:2]))
    first = _ingest(store, hash_key, "ocsf", log).files[0]
    assert first.counts.loaded == 2
    log.write_text("".join(lines))  # the log grew
    grown = _ingest(store, hash_key, "ocsf", log).files[0]
    assert (grown.start_line, grown.counts.rows_read, grown.counts.loaded) == (2, 1, 1)
    replay = _ingest(store, hash_key, "ocsf", log, from_start=True).files[0]
    assert (replay.counts.loaded, replay.counts.duplicates) == (0, 3)


def test_gzip_logs_are_read(store, hash_key, tmp_path):
    import gzip

    path = tmp_path / "audits.jsonl.gz"
    path.write_bytes(gzip.compress((DATA / "zendesk-audits.jsonl").read_bytes()))
    result = _ingest(store, hash_key, "mapped", path, "zendesk-ticket-audits").files[0]
    assert (result.counts.loaded, result.counts.rejected) == (3, 2)


def test_a_partial_last_line_waits_for_the_next_run(store, hash_key, tmp_path):
    log = tmp_path / "app.jsonl"
    whole = (DATA / "ocsf-events.jsonl").read_text().splitlines(keepends=True)
    log.write_text(whole[0] + whole[1][:40])  # the writer is mid-line
    first = _ingest(store, hash_key, "ocsf", log).files[0]
    assert (first.counts.rows_read, first.counts.rejected) == (1, 0)
    log.write_text(whole[0] + whole[1])
    second = _ingest(store, hash_key, "ocsf", log).files[0]
    assert (second.counts.loaded, second.counts.rejected) == (1, 0)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"fields": {"time": "t"}}, "required column(s) not mapped"),
        ({"table": "nope", "fields": {}}, "unknown table"),
        ({"fields": {"tiem": "t"}}, "'tiem' is not a column of access"),
        ({"fields": {"time": {"path": "t", "const": 1}}}, "exactly one of path and const"),
        ({"fields": {"time": {"path": "t", "mapp": {}}}}, "unknown key(s) mapp"),
        ({"format": "xml", "fields": {}}, "format must be jsonl or csv"),
        ({"fields": {"time": "a[?", "employee_id": "u", "action": "a"}}, "bad JMESPath"),
        # Wrongly typed values gave tracebacks (AttributeError, TypeError).
        ({"fields": ["time", "employee_id"]}, "fields must be a mapping"),
        ({"table": ["access"], "fields": {}}, "table must be a text"),
        ({"identity": [1], "fields": {}}, "identity must be a text"),
        (
            {
                "fields": {"time": "t", "employee_id": "u", "action": "a"},
                "filter": {"path": "a", "in": 5},
            },
            "filter needs path and in",
        ),
    ],
)
def test_bad_mappings_are_named(doc, message):
    with pytest.raises(ConfigError) as caught:
        Mapping.from_dict(doc, "m.yaml")
    assert message in str(caught.value) and "m.yaml" in str(caught.value)


def test_csv_mapping_naming_a_missing_column_fails_the_file(store, hash_key, tmp_path):
    mapping = tmp_path / "m.yaml"
    mapping.write_text("format: csv\nfields: {time: WHEN, employee_id: WHO, action: WHAT}\n")
    log = tmp_path / "log.csv"
    log.write_text("WHEN,WHO\n2026-09-01T00:00:00Z,E1\n")
    result = _ingest(store, hash_key, "mapped", log, mapping).files[0]
    assert "WHAT" in result.error and "log.csv:1" in result.error


def test_check_shows_mapped_records_and_what_could_not_be_mapped():
    report = check_mapping(
        shipped_mappings()["salesforce-api"], DATA / "salesforce-api.csv", limit=10
    )
    assert [r["event_id"] for r in report["records"]] == [
        "sfdc-4exLFFQZ1234",
        "sfdc-4exLFFQZ1235",
        "sfdc-4exLFFQZ1236",
    ]
    assert report["fields"]["action"]["unmapped_values"] == ["describeSObject"]
    assert report["fields"]["fields"]["unmapped_values"] == ["Report"]
    assert report["fields"]["app"]["absent"] == 1  # the filtered RestApi row not counted
    assert [line for line, _ in report["malformed"]] == [6]
    zendesk = check_mapping(
        shipped_mappings()["zendesk-ticket-audits"], DATA / "zendesk-audits.jsonl"
    )
    assert zendesk["problems"] == {"time:not_a_timestamp": 1}
    assert zendesk["fields"]["customer_ids"]["absent"] == 3


def test_cli_sources_check_and_list(cli):
    shown = cli(
        "sources", "check", "zendesk-ticket-audits", DATA / "zendesk-audits.jsonl", "--json"
    )
    assert shown.exit_code == 0, shown.stderr
    assert json.loads(shown.stdout)["records"][0]["event_id"] == "zendesk-audit-1001"
    listed = cli("sources", "list", "--json")
    kinds = {k["kind"] for k in json.loads(listed.stdout)["kinds"]}
    assert {"dataset", "pgaudit", "mapped", "ocsf"} <= kinds
    missing = cli("sources", "check", "no-such-mapping", DATA / "zendesk-audits.jsonl")
    assert missing.exit_code == 1 and "shipped mappings" in missing.stderr


def test_mapped_source_needs_a_mapping(store, hash_key, tmp_path):
    with pytest.raises(InsiderwatchError, match="needs --mapping"):
        _ingest(store, hash_key, "mapped", DATA / "ocsf-events.jsonl")


def test_round_trip_through_an_app_shaped_log(tmp_path, hash_key):
    """Contract events written in another shape and mapped back equal the same events
    loaded directly."""
    from insiderwatch.contract import ACTIONS
    from insiderwatch.ingest import ingest_dataset
    from insiderwatch.store import Store
    from sample_data import sample, write_sample

    events = sample("access")
    log = tmp_path / "app.jsonl"
    with log.open("w") as fh:
        for e in events:
            shaped = {
                "evt": {"id": e["event_id"]},
                "when": int(e["time"].timestamp() * 1000),
                "who": {"id": e["employee_id"]},
                "what": e["action"].upper(),
                "customers": [{"id": c} for c in e.get("customer_ids", [])],
                "data": "|".join(e.get("fields", [])),
                "count": e.get("record_count"),
                "tool": e.get("app", ""),
                "ticket": e.get("case_id"),
                "net": {"ip": e.get("src_ip", ""), "device": e.get("device_id", "")},
                "to": e.get("destination"),
            }
            fh.write(json.dumps(shaped) + "\n")
    mapping = tmp_path / "shape.yaml"
    mapping.write_text(
        "format: jsonl\nfields:\n"
        "  event_id: evt.id\n"
        "  time: {path: when, format: epoch_ms}\n"
        "  employee_id: who.id\n"
        f"  action: {{path: what, map: {{{', '.join(f'{a.upper()}: {a}' for a in ACTIONS)}}}}}\n"
        "  customer_ids: 'customers[*].id'\n"
        "  fields: {path: data, split: '|'}\n"
        "  record_count: count\n  app: tool\n  case_id: ticket\n"
        "  src_ip: net.ip\n  device_id: net.device\n  destination: to\n"
    )
    direct_dir, mapped_dir = tmp_path / "direct", tmp_path / "mapped"
    write_sample(direct_dir, "jsonl", only=("employees", "access"))
    write_sample(mapped_dir, "jsonl", only=("employees",))
    query = "SELECT * EXCLUDE (batch_id) FROM access ORDER BY event_id"
    with Store(tmp_path / "d.duckdb", threads=1) as direct:
        ingest_dataset(direct, direct_dir, hash_key)
        expected = direct.con.execute(query).fetchall()
    with Store(tmp_path / "m.duckdb", threads=1) as store:
        ingest_dataset(store, mapped_dir, hash_key)
        result = _ingest(store, hash_key, "mapped", log, mapping).files[0]
        assert result.error is None
        got = store.con.execute(query).fetchall()
    assert got == expected and len(got) == len(events)


def test_cli_mistakes_leave_no_store_behind(cli, tmp_path):
    db = tmp_path / "never.duckdb"
    no_mapping = cli("ingest", "--source", "mapped", DATA / "ocsf-events.jsonl", "--db", db)
    assert no_mapping.exit_code == 1 and "needs --mapping" in no_mapping.stderr
    missing = cli("ingest", "--source", "ocsf", tmp_path / "nope.jsonl", "--db", db)
    assert missing.exit_code == 1 and "not found" in missing.stderr
    assert not db.exists()


def test_check_maps_only_the_first_records(tmp_path):
    sample = tmp_path / "many.jsonl"
    line = (DATA / "ocsf-events.jsonl").read_text().splitlines()[0]
    sample.write_text((line + "\n") * 50)
    report = check_mapping(shipped_mappings()["ocsf"], sample, limit=5)
    assert len(report["records"]) == 5


def test_csv_with_a_byte_order_mark(store, hash_key, tmp_path):
    log = tmp_path / "api.csv"
    log.write_text("\ufeff" + (DATA / "salesforce-api.csv").read_text(), encoding="utf-8")
    result = _ingest(store, hash_key, "mapped", log, "salesforce-api").files[0]
    assert result.error is None and result.counts.loaded == 3


def test_a_jmespath_failing_on_one_record_rejects_only_that_record(store, hash_key, tmp_path):
    """join() given a null used to abort the whole file; now that record is a dead letter
    naming its field, and the records around it load."""
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        "format: jsonl\nidentity: app\n"
        "fields: {time: t, employee_id: u, action: {path: a, default: view}, "
        "customer_ids: \"join(';', ids)\"}\n"
    )
    log = tmp_path / "app.jsonl"
    secret = "leaky.person@example.org"
    lines = [
        {"t": "2026-09-01T10:00:00Z", "u": "ann", "ids": ["c1", "c2"]},
        {"t": "2026-09-01T10:01:00Z", "u": "ann", "ids": None, "note": secret},
        {"t": "2026-09-01T10:02:00Z", "u": "ann", "ids": [1, secret]},
        {"t": "2026-09-01T10:03:00Z", "u": "ann", "ids": ["c3"]},
    ]
    log.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = _ingest(store, hash_key, "mapped", log, mapping).files[0]
    assert result.error is None
    assert result.counts.rows_read == 4 and result.counts.loaded == 2
    assert [e["customer_ids"] for e in _access(store)] == [["c1", "c2"], ["c3"]]
    letters = store.con.execute(
        "SELECT row_no, field, reason, record FROM dead_letters WHERE table_name = 'access' "
        "ORDER BY row_no"
    ).fetchall()
    assert [(r, f, why) for r, f, why, _ in letters] == [
        (2, "customer_ids", "jmespath_failed"),
        (3, "customer_ids", "jmespath_failed"),
    ]
    assert all("join()" in record and secret not in record for *_, record in letters)


EXPORT_MAPPING = (
    "format: csv\nidentity: app\n"
    "fields: {time: When, employee_id: Who, action: {path: What, default: view}, "
    "record_count: Rows}\n"
)


def _export_csv(path, rows):
    path.write_text("When,Who,What,Rows\n" + "".join(f"{r}\n" for r in rows))


def test_a_rotated_csv_with_the_same_header_is_read_whole(store, hash_key, tmp_path):
    """A daily export replaced by the next day's (same header, so the same first line)
    reused the old byte offset: rows were skipped or read from mid-line, and the new rows
    were taken for conflicting duplicates of the old ones, with exit 0."""
    mapping = tmp_path / "m.yaml"
    mapping.write_text(EXPORT_MAPPING)
    log = tmp_path / "exports.csv"
    _export_csv(log, [f"2026-09-01T10:0{i}:00Z,ann,export,{i + 1}" for i in range(4)])
    first = _ingest(store, hash_key, "mapped", log, mapping).files[0]
    assert first.counts.loaded == 4 and not first.restarted
    # Rotated: a new file under the same name, longer than the old one, same header.
    _export_csv(log, [f"2026-09-02T11:0{i}:00Z,ann,export,{i + 10}" for i in range(6)])
    second = _ingest(store, hash_key, "mapped", log, mapping).files[0]
    assert second.restarted and second.start_line == 0
    assert (second.counts.loaded, second.counts.rejected, second.counts.duplicates) == (6, 0, 0)
    assert store.scalar("SELECT count(*) FROM access") == 10
    # Truncated below the saved offset (copytruncate) and rewritten: read from the top.
    _export_csv(log, ["2026-09-03T09:00:00Z,ann,export,99"])
    third = _ingest(store, hash_key, "mapped", log, mapping).files[0]
    assert third.restarted and third.counts.loaded == 1
    # Appended to: the position is kept, only the new row is read.
    with log.open("a") as fh:
        fh.write("2026-09-03T09:05:00Z,ann,export,7\n")
    fourth = _ingest(store, hash_key, "mapped", log, mapping).files[0]
    assert not fourth.restarted and fourth.start_line == 2
    assert (fourth.counts.rows_read, fourth.counts.loaded) == (1, 1)
    again = _ingest(store, hash_key, "mapped", log, mapping, from_start=True).files[0]
    assert (again.counts.loaded, again.counts.duplicates) == (0, 2)
