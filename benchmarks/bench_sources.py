"""Source adapter benchmark: pgaudit statements/s and mapped-JSON events/s.

Run by `make bench`. Writes a synthetic pgaudit csvlog (statements of a few dozen shapes
with varying literals, log_relation repeats and server messages, as a busy database
logs them) and a JSON Lines app log, then times each twice: the adapter alone (read,
parse, map to contract rows) and the whole ingest into a store (validation, dedup,
Parquet). Prints the machine and the figures; asserts nothing.

    python benchmarks/bench_sources.py [--statements 200000] [--events 1000000]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from insiderwatch.ingest import ingest_logs  # noqa: E402
from insiderwatch.privacy import HashKey  # noqa: E402
from insiderwatch.sources.identity import IdentityMap  # noqa: E402
from insiderwatch.sources.kinds import SourceOptions, source_for  # noqa: E402
from insiderwatch.store import Store  # noqa: E402
from machine import describe  # noqa: E402

SHAPES = [
    "SELECT name, email FROM customers WHERE id = {id}",
    "SELECT * FROM customers WHERE id IN ({id}, {id2}, {id3})",
    "SELECT c.name, o.total FROM customers c JOIN orders o ON o.customer_id = c.id WHERE c.id = {id}",
    "SELECT id FROM customers WHERE email = 'user{id}@example.com'",
    "SELECT phone FROM customers WHERE id BETWEEN {id} AND {id2}",
    "SELECT total, created_at FROM orders WHERE customer_id = {id} ORDER BY created_at DESC LIMIT 20",
    "UPDATE customers SET phone = '+44 7700 {id}' WHERE id = {id}",
    "SELECT count(*) FROM customers WHERE created_at > '2026-01-01'",
    "SELECT * FROM products WHERE sku = 'SKU-{id}'",
    "WITH recent AS (SELECT customer_id FROM orders WHERE total > {id}) SELECT c.email FROM customers c JOIN recent r ON r.customer_id = c.id",
]
KEY = HashKey(b"bench-key-0123456789abcdef")


def _csv(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def write_pgaudit(path: Path, statements: int, seed: int = 7) -> int:
    """A csvlog with ``statements`` audited statements; returns its line count."""
    rnd = random.Random(seed)
    lines = 0
    with path.open("w") as fh:
        for n in range(statements):
            ident = rnd.randrange(1, 5_000_000)
            sql = rnd.choice(SHAPES).format(id=ident, id2=ident + 3, id3=ident + 7)
            role = f"analyst{rnd.randrange(40)}"
            session = f"6b0c{n // 50:04x}.{n // 50:x}"
            ts = f"2026-09-01 {n // 3600000 % 24:02d}:{n // 60000 % 60:02d}:{n // 1000 % 60:02d}.{n % 1000:03d} UTC"
            tables = (
                ["public.customers", "public.orders"] if "JOIN" in sql else ["public.customers"]
            )
            for table in tables:  # log_relation: once per table
                message = f"AUDIT: SESSION,{n % 50 + 1},1,READ,SELECT,TABLE,{table},{_csv(sql)},<not logged>,{rnd.randrange(1, 50)}"
                fh.write(
                    f'{ts},"{role}","shop",{4000 + n // 50},"10.0.{n % 200}.{n % 250}:5432",{session},'
                    f'{n % 50 + 1},"SELECT",2026-09-01 00:00:00 UTC,3/{n},0,LOG,00000,{_csv(message)},'
                    f',,,,,,,,"psql","client backend",,0\n'
                )
                lines += 1
            if n % 20 == 0:
                fh.write(
                    f'{ts},,,99,,6b0c.1,1,,{ts},,0,LOG,00000,"checkpoint starting: time",,,,,,,,,"","checkpointer",,0\n'
                )
                lines += 1
    return lines


def write_app_log(path: Path, events: int, seed: int = 7) -> None:
    rnd = random.Random(seed)
    ops = ["READ", "READ", "READ", "SEARCH", "EXPORT", "UPDATE"]
    with path.open("w") as fh:
        for n in range(events):
            record = {
                "id": f"evt-{n}",
                "ts": 1788253200000 + n * 37,
                "user": {"login": f"agent{rnd.randrange(2000)}", "ip": f"10.1.{n % 250}.{n % 200}"},
                "op": rnd.choice(ops),
                "customer": {"id": f"c-{rnd.randrange(10_000_000)}"},
                "kinds": "name;email",
                "app": "crm",
            }
            fh.write(json.dumps(record) + "\n")


MAPPING = """
name: bench-crm
format: jsonl
identity: crm
fields:
  event_id: id
  time: {path: ts, format: epoch_ms}
  employee_id: user.login
  action: {path: op, map: {READ: view, SEARCH: search, EXPORT: export, UPDATE: update}}
  customer_ids: customer.id
  fields: kinds
  app: app
  src_ip: user.ip
"""


def time_adapter(kind: str, path: Path, options: SourceOptions) -> tuple[float, int, object]:
    source = source_for(kind, options)
    began = time.perf_counter()
    rows = sum(batch.rows for batch in source.batches(path))
    return time.perf_counter() - began, rows, source


def time_ingest(kind: str, path: Path, options: SourceOptions, db: Path) -> tuple[float, int]:
    with Store(db, memory_limit="1GB") as store:
        began = time.perf_counter()
        report = ingest_logs(store, kind, [path], KEY, options)
        seconds = time.perf_counter() - began
    result = report.files[0]
    if result.error:
        raise SystemExit(f"ingest failed: {result.error}")
    return seconds, result.counts.loaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--statements", type=int, default=200_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    print(f"machine: {describe()}")
    with tempfile.TemporaryDirectory(prefix="iw-bench-sources-") as folder:
        work = Path(folder)
        log = work / "postgresql.csv"
        lines = write_pgaudit(log, args.statements)
        options = SourceOptions(identities=IdentityMap())
        seconds, rows, source = time_adapter("pgaudit", log, options)
        cache = source.statements.analyse.cache_info()
        print(
            f"pgaudit adapter: {lines:,} lines, {args.statements:,} statements in {seconds:.2f} s = "
            f"{lines / seconds:,.0f} lines/s, {args.statements / seconds:,.0f} statements/s "
            f"({rows:,} events; statement cache {cache.hits:,} hits / {cache.misses:,} misses)"
        )
        seconds, loaded = time_ingest("pgaudit", log, SourceOptions(), work / "pg.duckdb")
        print(
            f"pgaudit ingest into the store: {loaded:,} events in {seconds:.2f} s = "
            f"{args.statements / seconds:,.0f} statements/s"
        )
        app_log, mapping = work / "app.jsonl", work / "bench-crm.yaml"
        write_app_log(app_log, args.events)
        mapping.write_text(MAPPING)
        options = SourceOptions(mapping=mapping)
        seconds, rows, _ = time_adapter("mapped", app_log, options)
        print(
            f"mapped JSON adapter: {rows:,} events in {seconds:.2f} s = {rows / seconds:,.0f} events/s"
        )
        seconds, loaded = time_ingest(
            "mapped", app_log, SourceOptions(mapping=mapping), work / "app.duckdb"
        )
        print(
            f"mapped JSON ingest into the store: {loaded:,} events in {seconds:.2f} s = "
            f"{loaded / seconds:,.0f} events/s"
        )


if __name__ == "__main__":
    main()
