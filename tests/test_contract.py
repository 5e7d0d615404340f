"""The contract: table specs, Arrow schemas and JSON Schema all follow the record Structs."""

from __future__ import annotations

import datetime as dt
import json
import re

import msgspec
import pyarrow as pa
import pytest

from insiderwatch.contract import (
    ACTIONS,
    FIELD_CATEGORIES,
    LOAD_ORDER,
    TABLES,
    AccessEvent,
    Alert,
    Case,
    Customer,
    Employee,
    Finding,
    Suspect,
    SuspectReport,
    table_spec,
    to_arrow,
)
from insiderwatch.contract.jsonschema import contract_schemas, write_schemas
from insiderwatch.contract.records import INPUT_RECORDS, OUTPUT_RECORDS
from insiderwatch.store.schema import table_ddl
from sample_data import SAMPLE, flat

# The required columns as the contract documents them (docs/contract.md).
REQUIRED = {
    "employees": {"employee_id", "role", "hired_on"},
    "customers": {"customer_id"},
    "cases": {"case_id", "customer_id", "employee_id", "opened_at"},
    "orders": {"order_id", "customer_id", "seller_id", "ordered_at"},
    "canaries": {"customer_id"},
    "access": {"event_id", "time", "employee_id", "action"},
}

_PY_KIND = {
    str: "str",
    int: "int",
    bool: "bool",
    dt.date: "date",
    dt.datetime: "timestamp",
}


@pytest.mark.parametrize("record", INPUT_RECORDS, ids=lambda r: r.table)
def test_table_spec_mirrors_its_struct(record):
    spec = TABLES[record.table]
    assert spec is table_spec(record)
    assert spec.record is record
    assert spec.name == record.table
    assert spec.key == record.key
    assert spec.names == record.__struct_fields__
    assert set(spec.key) <= set(spec.names)
    assert set(spec.required) == REQUIRED[record.table]


@pytest.mark.parametrize("record", INPUT_RECORDS, ids=lambda r: r.table)
def test_column_kinds_follow_python_types(record):
    """Each column's kind is what the Struct's annotation says (Optional/Annotated stripped)."""
    hints = {f.name: f.type for f in msgspec.inspect.type_info(record).fields}
    spec = TABLES[record.table]
    for col in spec.columns:
        t = hints[col.name]
        while isinstance(t, msgspec.inspect.Metadata | msgspec.inspect.UnionType):
            if isinstance(t, msgspec.inspect.Metadata):
                t = t.type
            else:
                t = next(x for x in t.types if not isinstance(x, msgspec.inspect.NoneType))
        if isinstance(t, msgspec.inspect.ListType):
            assert col.kind == "list", col.name
        elif isinstance(t, msgspec.inspect.LiteralType):
            assert col.kind == "str" and col.choices, col.name
        else:
            python_type = {
                msgspec.inspect.StrType: str,
                msgspec.inspect.IntType: int,
                msgspec.inspect.BoolType: bool,
                msgspec.inspect.DateType: dt.date,
                msgspec.inspect.DateTimeType: dt.datetime,
            }[type(t)]
            assert col.kind == _PY_KIND[python_type], col.name


def test_constraints_reach_the_column_specs():
    access = TABLES["access"]
    assert set(access.column("action").choices) == set(ACTIONS)
    assert set(access.column("fields").choices) == set(FIELD_CATEGORIES)
    assert access.column("record_count").min_value == 0
    assert access.column("destination").pattern is not None
    assert access.column("event_id").max_length == 256
    customers = TABLES["customers"]
    assert customers.column("email").pii == "email"
    assert customers.column("phone").pii == "phone"
    assert customers.column("email").stored_name == "email_hash"
    assert [c.name for c in customers.columns if c.pii] == ["email", "phone"]
    assert all(
        c.pii is None for name in TABLES if name != "customers" for c in TABLES[name].columns
    )
    with pytest.raises(KeyError):
        access.column("no_such_column")


@pytest.mark.parametrize(
    ("destination", "ok"),
    [
        ("local", True),
        ("usb", True),
        ("printer", True),
        ("personal_email", True),
        ("external:partner.example", True),
        ("cloud:dropbox", True),
        ("external:", False),
        ("external:a b", False),
        ("cloud:x:y", False),
        ("USB", False),
        ("email", False),
        ("", False),
    ],
)
def test_destination_pattern(destination, ok):
    pattern = TABLES["access"].column("destination").pattern
    assert bool(re.fullmatch(pattern, destination)) is ok


@pytest.mark.parametrize("name", list(TABLES))
def test_arrow_schema_types(name):
    spec = TABLES[name]
    schema = spec.arrow_schema()
    assert schema.names == list(spec.names)
    for col in spec.columns:
        field = schema.field(col.name)
        assert field.nullable is (not col.required)
        if col.kind == "timestamp":
            assert pa.types.is_timestamp(field.type)
            assert field.type.tz == "UTC"
        if col.kind == "list":
            assert field.type == pa.list_(pa.string())
        if col.kind == "date":
            assert field.type == pa.date32()


@pytest.mark.parametrize("name", list(TABLES))
def test_stored_schema_replaces_personal_data_with_hashes(name):
    spec = TABLES[name]
    stored = spec.stored_arrow_schema()
    pii = {c.name for c in spec.columns if c.pii}
    assert not pii & set(stored.names)
    for col in spec.columns:
        if col.pii:
            assert stored.field(f"{col.name}_hash").type == pa.string()
        else:
            assert stored.field(col.name).type == spec.arrow_schema().field(col.name).type


@pytest.mark.parametrize("name", list(TABLES))
def test_store_ddl_lists_every_stored_column(name):
    ddl = table_ddl(TABLES[name])
    for col in TABLES[name].columns:
        assert re.search(rf"\b{col.stored_name}\b", ddl), col.stored_name
    for col in TABLES[name].columns:
        if col.pii:
            assert not re.search(rf"^\s*{col.name}\s", ddl, re.M)


def test_load_order_puts_context_before_events():
    assert set(LOAD_ORDER) == set(TABLES)
    assert len(LOAD_ORDER) == len(set(LOAD_ORDER))
    assert LOAD_ORDER.index("employees") < LOAD_ORDER.index("cases")
    assert LOAD_ORDER.index("employees") < LOAD_ORDER.index("access")
    assert LOAD_ORDER[-1] == "access"


@pytest.mark.parametrize("record", [Employee, Customer, Case, AccessEvent], ids=lambda r: r.table)
def test_sample_rows_decode_and_convert_to_arrow(record):
    """The sample rows are valid contract records; to_arrow gives the contract's schema."""
    rows = SAMPLE[record.table]
    records = [msgspec.convert(row, record) for row in rows]
    table = to_arrow(records)
    assert table.schema == TABLES[record.table].arrow_schema()
    assert table.num_rows == len(rows)
    assert table.column(record.key[0]).to_pylist() == [row[record.key[0]] for row in rows]


def test_record_defaults():
    event = AccessEvent(
        event_id="x", time=dt.datetime(2026, 9, 1, tzinfo=dt.UTC), employee_id="e", action="view"
    )
    assert event.customer_ids == [] and event.fields == [] and event.record_count is None
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"event_id": "x", "employee_id": "e", "action": "view"}, AccessEvent)
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(
            {"event_id": "x", "time": "2026-09-01T00:00:00Z", "employee_id": "e", "action": "nap"},
            AccessEvent,
        )


def test_to_arrow_refuses_an_empty_list():
    with pytest.raises(ValueError):
        to_arrow([])


# --- JSON Schema -----------------------------------------------------------------------


def _definition(schema: dict) -> dict:
    name = schema["$ref"].rsplit("/", 1)[-1]
    return schema["$defs"][name]


def test_one_json_schema_per_record():
    schemas = contract_schemas()
    expected = {r.table for r in INPUT_RECORDS} | {r.__name__.lower() for r in OUTPUT_RECORDS}
    assert set(schemas) == expected
    for name, schema in schemas.items():
        assert schema["$schema"].startswith("https://json-schema.org/"), name
        assert "contract" in schema["$comment"]


@pytest.mark.parametrize("record", INPUT_RECORDS, ids=lambda r: r.table)
def test_json_schema_lists_required_fields(record):
    definition = _definition(contract_schemas()[record.table])
    assert set(definition["properties"]) == set(TABLES[record.table].names)
    assert set(definition.get("required", [])) == REQUIRED[record.table]


def test_json_schema_of_outputs():
    schemas = contract_schemas()
    alert = _definition(schemas["alert"])
    assert set(alert["required"]) == set(Alert.__struct_fields__)
    finding = _definition(schemas["finding"])
    assert set(finding["required"]) == {
        f.name for f in msgspec.structs.fields(Finding) if f.required
    }
    report = schemas["suspectreport"]
    assert "Suspect" in report["$defs"]
    without_default = {f.name for f in msgspec.structs.fields(Suspect) if f.required}
    assert set(report["$defs"]["Suspect"]["required"]) == without_default
    report_required = {f.name for f in msgspec.structs.fields(SuspectReport) if f.required}
    assert set(_definition(report)["required"]) == report_required


def test_write_schemas_writes_valid_json(tmp_path):
    written = write_schemas(tmp_path / "schemas")
    assert {p.name for p in written} == {f"{n}.schema.json" for n in contract_schemas()}
    for path in written:
        assert json.loads(path.read_text()) == contract_schemas()[path.name.split(".")[0]]


def test_cli_contract_out_writes_one_file_per_record(cli, tmp_path):
    out = tmp_path / "schemas"
    result = cli("contract", "--out", out)
    assert result.exit_code == 0, result.output
    files = sorted(out.glob("*.schema.json"))
    assert len(files) == len(contract_schemas())
    for path in files:
        schema = json.loads(path.read_text())
        table = path.name.removesuffix(".schema.json")
        if table in TABLES:
            assert set(_definition(schema)["required"]) == REQUIRED[table]
        assert flat(str(path)) in flat(result.stderr)


def test_cli_contract_prints_json(cli):
    result = cli("contract")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == json.loads(json.dumps(contract_schemas()))
