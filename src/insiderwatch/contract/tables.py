"""Column-level view of the contract, derived from the record Structs.

Ingest validation, Arrow schemas and the docs all read these specs, so they can never
drift from :mod:`insiderwatch.contract.records`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from typing import Literal

import msgspec
import msgspec.inspect as mi
import pyarrow as pa

from insiderwatch.contract.records import INPUT_RECORDS, Record

Kind = Literal["str", "int", "bool", "date", "timestamp", "list"]


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    kind: Kind
    required: bool
    doc: str = ""
    choices: tuple[str, ...] | None = None  # allowed values (for lists: of each element)
    pattern: str | None = None
    max_length: int | None = None
    min_value: int | None = None
    pii: str | None = None  # "email" / "phone": normalised and stored only as a keyed hash
    default: bool | None = None  # value stored when a boolean is absent (e.g. is_vip = False)

    @property
    def arrow_type(self) -> pa.DataType:
        return _ARROW_TYPES[self.kind]

    @property
    def stored_name(self) -> str:
        return f"{self.name}_hash" if self.pii else self.name


_ARROW_TYPES: dict[str, pa.DataType] = {
    "str": pa.string(),
    "int": pa.int64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "list": pa.list_(pa.string()),
}


@dataclass(frozen=True)
class TableSpec:
    name: str
    key: tuple[str, ...]
    doc: str
    columns: tuple[ColumnSpec, ...]
    record: type[Record]

    def column(self, name: str) -> ColumnSpec:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def arrow_schema(self) -> pa.Schema:
        """Schema of the table as it is exchanged (raw values, before hashing)."""
        return pa.schema(
            [pa.field(c.name, c.arrow_type, nullable=not c.required) for c in self.columns]
        )

    def stored_arrow_schema(self) -> pa.Schema:
        """Schema of the table as kept in the store (personal data replaced by hashes)."""
        fields = []
        for c in self.columns:
            typ = pa.string() if c.pii else c.arrow_type
            fields.append(pa.field(c.stored_name, typ, nullable=not c.required))
        return pa.schema(fields)


def _unwrap(t: mi.Type) -> tuple[mi.Type, bool, dict, str]:
    """Strip Metadata and Optional wrappers; return (type, nullable, extra, description)."""
    nullable, extra, doc = False, {}, ""
    while True:
        if isinstance(t, mi.Metadata):
            extra.update(t.extra or {})
            doc = (t.extra_json_schema or {}).get("description", doc)
            t = t.type
        elif isinstance(t, mi.UnionType):
            others = [x for x in t.types if not isinstance(x, mi.NoneType)]
            nullable = nullable or len(others) < len(t.types)
            if len(others) != 1:
                raise TypeError(f"unsupported union in contract: {t}")
            t = others[0]
        else:
            return t, nullable, extra, doc


def _column(field: mi.Field) -> ColumnSpec:
    t, _nullable, extra, doc = _unwrap(field.type)
    choices = pattern = min_value = max_length = None
    if isinstance(t, mi.StrType):
        kind: Kind = "str"
        pattern, max_length = t.pattern, t.max_length
    elif isinstance(t, mi.LiteralType):
        kind, choices = "str", tuple(str(v) for v in t.values)
    elif isinstance(t, mi.IntType):
        kind, min_value = "int", t.ge
    elif isinstance(t, mi.BoolType):
        kind = "bool"
    elif isinstance(t, mi.DateType):
        kind = "date"
    elif isinstance(t, mi.DateTimeType):
        kind = "timestamp"
    elif isinstance(t, mi.ListType):
        kind = "list"
        item, _, _, _ = _unwrap(t.item_type)
        if isinstance(item, mi.LiteralType):
            choices = tuple(str(v) for v in item.values)
    else:
        raise TypeError(f"unsupported contract type for {field.name}: {t}")
    return ColumnSpec(
        name=field.name,
        kind=kind,
        required=field.required,
        doc=doc,
        choices=choices,
        pattern=pattern,
        max_length=max_length,
        min_value=min_value,
        pii=extra.get("pii"),
        default=field.default if isinstance(field.default, bool) else None,
    )


@cache
def table_spec(record: type[Record]) -> TableSpec:
    info = mi.type_info(record)
    assert isinstance(info, mi.StructType)
    return TableSpec(
        name=record.table,
        key=record.key,
        doc=record.doc,
        columns=tuple(_column(f) for f in info.fields),
        record=record,
    )


TABLES: dict[str, TableSpec] = {r.table: table_spec(r) for r in INPUT_RECORDS}
# Context tables load before events: events are checked against the employee roster.
LOAD_ORDER: tuple[str, ...] = ("employees", "customers", "cases", "orders", "canaries", "access")


def to_arrow(records: list[Record]) -> pa.Table:
    """Turn contract records into an Arrow table with the contract's schema."""
    if not records:
        raise ValueError("no records")
    spec = table_spec(type(records[0]))
    rows = msgspec.to_builtins(records, builtin_types=(dt.datetime, dt.date))
    return pa.Table.from_pylist(rows, schema=spec.arrow_schema())
