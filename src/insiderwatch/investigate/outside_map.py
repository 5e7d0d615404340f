"""The configured outside sources: partners and processors and the customers each holds.

A YAML file (setting ``outside_sources``, or ``attribute --outside-sources``) lists them:

```yaml
sources:
  - name: ParcelCo            # shown in the report
    kind: processor           # partner or processor
    query: SELECT DISTINCT customer_id FROM orders WHERE seller_id IN ('S0003', 'S0007')
  - name: MailHouse
    kind: partner
    customers: mailhouse-ids.csv   # a CSV with a customer_id column (relative to this file)
```

A query runs read-only against the store and must return a ``customer_id`` column.
Every problem names the file, the entry and the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import yaml

from insiderwatch.errors import ConfigError, Location

MAPPED_KINDS = ("partner", "processor")


@dataclass(frozen=True)
class MappedSource:
    name: str
    kind: str
    query: str | None = None
    customers: pa.Table | None = None  # customer_id


def load_mapping(path: Path) -> list[MappedSource]:
    """Read and check the outside sources file; a problem raises ConfigError with its place."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read outside sources: {exc}", Location(str(path))) from None
    entries = data.get("sources") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ConfigError("expected a 'sources:' list", Location(str(path)))
    sources = [_entry(path, n, e) for n, e in enumerate(entries, start=1)]
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise ConfigError("source names must be unique", Location(str(path), field="name"))
    return sources


def _entry(path: Path, number: int, entry: object) -> MappedSource:
    def where(name: str) -> Location:
        return Location(str(path), number, name)

    if not isinstance(entry, dict):
        raise ConfigError("each source is a mapping with name, kind and query or customers",
                          where("source"))  # fmt: skip
    name, kind = str(entry.get("name") or "").strip(), entry.get("kind")
    if not name:
        raise ConfigError("missing name", where("name"))
    if kind not in MAPPED_KINDS:
        raise ConfigError(f"kind must be one of {', '.join(MAPPED_KINDS)}", where("kind"))
    query, customers = entry.get("query"), entry.get("customers")
    if (query is None) == (customers is None):
        raise ConfigError("give exactly one of query or customers", where("query"))
    if query is not None:
        if not isinstance(query, str) or not query.strip():
            raise ConfigError("query must be SQL text", where("query"))
        return MappedSource(name, kind, query=query)
    return MappedSource(name, kind, customers=_customer_file(path.parent / str(customers),
                                                             where("customers")))  # fmt: skip


def _customer_file(file: Path, where: Location) -> pa.Table:
    try:
        table = pacsv.read_csv(file, convert_options=pacsv.ConvertOptions(
            include_columns=["customer_id"], column_types={"customer_id": pa.string()}))  # fmt: skip
    except (OSError, pa.ArrowInvalid, KeyError) as exc:
        raise ConfigError(f"cannot read {file.name} (needs a customer_id column): {exc}",
                          where) from None  # fmt: skip
    return table.filter(table["customer_id"].is_valid())
