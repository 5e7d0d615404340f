"""JSON Schema export of the contract, for producers written in other languages."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec

from insiderwatch.contract.records import CONTRACT_VERSION, INPUT_RECORDS, OUTPUT_RECORDS


def contract_schemas() -> dict[str, dict]:
    """One JSON Schema document per record, keyed by file stem (table name or output)."""
    out: dict[str, dict] = {}
    for record in (*INPUT_RECORDS, *OUTPUT_RECORDS):
        schema = msgspec.json.schema(record)
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$comment"] = f"insiderwatch interchange contract v{CONTRACT_VERSION}"
        name = getattr(record, "table", record.__name__.lower())
        out[name] = schema
    return out


def write_schemas(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in contract_schemas().items():
        path = out_dir / f"{name}.schema.json"
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written
