"""Load one raw batch into the store: validate, hash, deduplicate, keep the rejects.

Every record read ends up in exactly one bucket: loaded (new), updated (context row that
changed), duplicate (already stored, or repeated within the input), or rejected (kept in
``dead_letters`` with file, row, field and reason). Bad values in optional personal-data
fields (an email that is not an email) drop just that field and leave a letter too.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from insiderwatch.contract import TableSpec
from insiderwatch.errors import InsiderwatchError
from insiderwatch.privacy import HashKey
from insiderwatch.privacy.columns import hash_column
from insiderwatch.privacy.columns import reason as pii_reason
from insiderwatch.sources.readers import LINE, ROW, RawBatch
from insiderwatch.store.duckdb_store import Store
from insiderwatch.store.schema import COUNTERS, EVENT_TABLES
from insiderwatch.store.validate import (
    TEXT,
    Reference,
    case_folded_line,
    json_objects_select,
    quote_ident,
    quote_str,
    staged_select,
)

MALFORMED = "row:malformed_row"  # a record the source could not split into fields

# Referential checks: an access or a case by someone not on the roster is rejected, so a
# late roster can be loaded and the letters replayed.
REFERENCES: dict[str, tuple[Reference, ...]] = {
    "access": (Reference("employee_id", "employees", "employee_id", "unknown_employee"),),
    "cases": (Reference("employee_id", "employees", "employee_id", "unknown_employee"),),
}


def _row_lists(columns: list[pa.Array]) -> pa.ListArray:
    """Per row, the non-null values of ``columns`` in column order, as one list column."""
    rows, width = len(columns[0]), len(columns)
    # Column-major after concatenation; taken row-major so each row's values are adjacent.
    flat = pa.concat_arrays(columns).take(
        (np.arange(rows)[:, None] + np.arange(width)[None, :] * rows).ravel()
    )
    present = flat.is_valid()
    counts = present.to_numpy(zero_copy_only=False).reshape(rows, width).sum(axis=1)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), flat.filter(present))


@dataclass
class LoadCounts:
    rows_read: int = 0
    loaded: int = 0
    updated: int = 0
    duplicates: int = 0
    rejected: int = 0
    fields_dropped: int = 0
    reasons: Counter = field(default_factory=Counter)

    def add(self, other: LoadCounts) -> None:
        for name in COUNTERS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.reasons.update(other.reasons)

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in COUNTERS}


class BatchLoader:
    """Loads batches of one table from one source into the store."""

    def __init__(
        self,
        store: Store,
        spec: TableSpec,
        source: str,
        batch_id: int,
        key: HashKey | None = None,
        phone_region: str = "GB",
    ) -> None:
        self.store = store
        self.con = store.con
        self.spec = spec
        self.source = source
        self.batch_id = batch_id
        self.key = key
        self.phone_region = phone_region
        self.pii = [c for c in spec.columns if c.pii]
        # Per-record outcomes of the last batch's good records (row, loaded / updated /
        # duplicate), kept only when asked: a collector answers per line, a file does not.
        self.track_rows = False
        self.outcomes: pa.Table | None = None
        if self.pii and key is None:
            raise ValueError(f"{spec.name} holds personal data: a hashing key is required")

    # -- entry point ------------------------------------------------------------------
    def load(self, batch: RawBatch) -> LoadCounts:
        counts = LoadCounts(rows_read=batch.rows)
        self.outcomes = None
        con = self.con
        if batch.data is not None:
            con.register("_raw", batch.data)
        else:
            con.execute(f"CREATE OR REPLACE TEMP VIEW _raw AS SELECT * FROM {batch.relation}")
        if batch.layout == "json":
            # Parse each line once into Arrow; later queries scan the parsed columns.
            objects = con.sql(
                json_objects_select(self.spec, "_raw", self._json_line())
            ).to_arrow_table()
            con.register("_json", objects)
            if objects.num_rows < batch.data.num_rows:
                self._letters_for_bad_json(counts)
            relation = "_json"
            types = {c.name: ("JSON" if c.kind == "list" else TEXT) for c in self.spec.columns}
        else:
            relation = "_raw"
            types = {
                name: (typ if batch.typed else TEXT)
                for name, typ in con.execute(
                    "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM _raw)"
                ).fetchall()
                if name != ROW
            }
        self._letters_for_malformed(batch.malformed, counts)
        stage_sql = staged_select(
            self.spec,
            relation,
            types,
            REFERENCES.get(self.spec.name, ()),
            self.store.time_window,
        )
        # The parsed batch is held as Arrow and scanned in place by later queries, which
        # avoids copying it into a temporary table.
        if self.spec.name in EVENT_TABLES:
            stage = self._mark_repeats(con.sql(self._events_select(stage_sql)).to_arrow_table())
        else:
            stage = con.sql(stage_sql).to_arrow_table()
        if self.pii:
            stage = self._hash_personal_data(stage)
        con.register("_stage", stage)
        self._letters_for_problems(batch.layout, counts)
        if self.spec.name in EVENT_TABLES:
            self._append_events(stage, counts)
        else:
            self._upsert_context(counts)
        self._resolve_letters()
        if counts.rows_read != counts.loaded + counts.updated + counts.duplicates + counts.rejected:
            # Every bucket is counted on its own, so a row that vanished shows up here.
            raise InsiderwatchError(
                f"{self.source}: internal error: {counts.as_dict()} do not add up; "
                "the batch was rolled back"
            )
        return counts

    def load_in_transaction(self, batch: RawBatch) -> LoadCounts:
        """Load a batch all-or-nothing: rows, letters and segment registration commit together."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            counts = self.load(batch)
        except BaseException:
            self.con.execute("ROLLBACK")
            self.cleanup()
            self.store.refresh_views()
            raise
        self.con.execute("COMMIT")
        self.cleanup()
        return counts

    def cleanup(self) -> None:
        """Drop the batch's temporary tables (after its transaction ended)."""
        self.con.unregister("_raw")
        self.con.unregister("_json")
        self.con.unregister("_not_objects")
        self.con.execute("DROP VIEW IF EXISTS _raw")
        self.con.unregister("_stage")
        self.con.execute("DROP TABLE IF EXISTS _good")

    def _key_sql(self, alias: str) -> str:
        """A record's key as one string (``a|b`` for composite keys), as kept in letters."""
        return " || '|' || ".join(
            f"coalesce(CAST({alias}.{k} AS VARCHAR), '')" for k in self.spec.key
        )

    def scalar(self, sql: str) -> int:
        return int(self.con.execute(sql).fetchall()[0][0])

    # -- dead letters -----------------------------------------------------------------
    def _insert_letters(self, select_sql: str) -> None:
        """Insert letters from a SELECT of (row_no, problems, record_key, record, disposition)."""
        table = quote_str(self.spec.name)
        source = quote_str(self.source)
        self.con.execute(
            f"""
            INSERT INTO dead_letters
            SELECT md5(concat_ws('|', {table}, {source}, row_no, disposition, coalesce(record, ''))),
                   {table}, {source}, row_no,
                   split_part(problems[1], ':', 1), split_part(problems[1], ':', 2),
                   problems, disposition, record_key, record,
                   {self.batch_id}, {self.batch_id}, NULL
            FROM ({select_sql})
            ON CONFLICT (letter_id) DO UPDATE SET
              last_batch = excluded.last_batch,
              problems = excluded.problems,
              field = excluded.field,
              reason = excluded.reason,
              -- seen again, so open again; the resolve step closes it if that is justified
              resolved_batch = NULL
            """
        )

    def _json_line(self) -> str:
        """The JSON line as parsed. Keys of personal data spelled in another case
        (``EMAIL``) would otherwise be dropped without a word, so for tables holding
        personal data they are matched case-insensitively, as CSV headers are; the key
        scan costs one extra parse, paid only by those (small) tables."""
        if not self.pii:
            return LINE
        keys = [
            k
            for (k,) in self.con.execute(
                f"SELECT DISTINCT unnest(json_keys(try_cast({LINE} AS JSON))) FROM _raw "
                f"WHERE starts_with(ltrim({LINE}), '{{')"
            ).fetchall()
            if k is not None
        ]
        return case_folded_line(self.spec, keys)

    def _letters_for_bad_json(self, counts: LoadCounts) -> None:
        """Letters for lines that are not JSON objects; blank lines are skipped uncounted.
        Only JSON's own whitespace makes a line blank (as for mapped JSON logs): a form
        feed or a Unicode space is a malformed record, not nothing."""
        self.con.register(
            "_not_objects",
            self.con.sql(
                f"SELECT {ROW}, {LINE} FROM _raw WHERE {ROW} NOT IN (SELECT {ROW} FROM _json)"
            ).to_arrow_table(),
        )
        blank = self.scalar(
            f"SELECT count(*) FROM _not_objects WHERE regexp_full_match({LINE}, '[ \\t\\r]*')"
        )
        counts.rows_read -= blank
        record = "NULL" if self.pii else LINE  # a broken customer line may hold raw PII
        bad = f"""
            SELECT {ROW} AS row_no,
                   [CASE WHEN json_valid({LINE}) THEN 'line:not_an_object'
                         ELSE 'line:malformed_json' END] AS problems,
                   NULL AS record_key, {record} AS record, 'rejected' AS disposition
            FROM _not_objects
            WHERE NOT regexp_full_match({LINE}, '[ \\t\\r]*')
        """
        self._count_and_insert(bad, counts)

    def _letters_for_malformed(self, malformed: list[tuple], counts: LoadCounts) -> None:
        """Records a source could not even split: (row, what is known of it) and, when the
        source knows which field failed, a third element ``field:reason``."""
        if not malformed:
            return
        rows = pa.table(
            {
                "row_no": pa.array([m[0] for m in malformed], pa.int64()),
                "text": pa.array([None if self.pii else m[1] for m in malformed], pa.string()),
                "problem": [m[2] if len(m) > 2 else MALFORMED for m in malformed],
            }
        )
        self.con.register("_malformed", rows)
        try:
            self._count_and_insert(
                "SELECT row_no, [problem] AS problems, NULL AS record_key, "
                "text AS record, 'rejected' AS disposition FROM _malformed",
                counts,
            )
        finally:
            self.con.unregister("_malformed")

    def _count_and_insert(self, select_sql: str, counts: LoadCounts) -> None:
        found = self.con.execute(
            f"SELECT problems[1], count(*) FROM ({select_sql}) GROUP BY ALL"
        ).fetchall()
        for reason, n in found:
            counts.rejected += n
            counts.reasons[reason] += n
        if found:
            self._insert_letters(select_sql)

    def _record_json(self, layout: str) -> str:
        """SQL for the raw record kept in a letter.

        Tables with personal data keep only their non-personal contract columns: a
        redaction list could miss a column named ``E-Mail`` or a JSON key ``EMAIL``, a
        whitelist cannot.
        """
        if layout == "json":
            if not self.pii:
                return f"raw.{LINE}"
            parts = [
                f"{quote_str(c.name)}: json_extract_string(raw.{LINE}, {quote_str('$.' + c.name)})"
                for c in self.spec.columns
                if not c.pii
            ]
            return f"CAST(to_json({{{', '.join(parts)}}}) AS VARCHAR)"
        raw_cols = [
            name
            for (name,) in self.con.execute(
                "SELECT column_name FROM (DESCRIBE SELECT * FROM _raw)"
            ).fetchall()
            if name != ROW
        ]
        if self.pii:
            # Headers match the contract case-insensitively; keep the known, non-personal ones.
            allowed = {c.name for c in self.spec.columns if not c.pii}
            raw_cols = [n for n in raw_cols if n.lower() in allowed]
        parts = [f"{quote_str(n)}: raw.{quote_ident(n)}" for n in raw_cols]
        return f"CAST(to_json({{{', '.join(parts)}}}) AS VARCHAR)"

    def _letters_for_problems(self, layout: str, counts: LoadCounts) -> None:
        key = self._key_sql("s")
        record = self._record_json(layout)
        rejected = f"""
            SELECT s.{ROW} AS row_no, s._problems AS problems, {key} AS record_key,
                   {record} AS record, 'rejected' AS disposition
            FROM _stage s JOIN _raw raw ON raw.{ROW} = s.{ROW}
            WHERE len(s._problems) > 0
        """
        found = self.con.execute(
            "SELECT unnest(_problems) AS p, count(*) FROM _stage WHERE len(_problems) > 0 GROUP BY p"
        ).fetchall()
        rows = self.scalar("SELECT count(*) FROM _stage WHERE len(_problems) > 0")
        counts.rejected += rows
        for reason, n in found:
            counts.reasons[reason] += n
        if rows:
            self._insert_letters(rejected)
        if self.pii:
            dropped = f"""
                SELECT s.{ROW} AS row_no, s._dropped AS problems, {key} AS record_key,
                       {record} AS record, 'field_dropped' AS disposition
                FROM _stage s JOIN _raw raw ON raw.{ROW} = s.{ROW}
                WHERE len(s._problems) = 0 AND len(s._dropped) > 0
            """
            n = self.scalar(
                "SELECT count(*) FROM _stage WHERE len(_problems) = 0 AND len(_dropped) > 0"
            )
            counts.fields_dropped += n
            if n:
                for reason, c in self.con.execute(
                    "SELECT unnest(_dropped) AS p, count(*) FROM _stage "
                    "WHERE len(_problems) = 0 GROUP BY p"
                ).fetchall():
                    counts.reasons[reason] += c
                self._insert_letters(dropped)

    def _resolve_letters(self) -> None:
        """A rejected record is resolved when a good row with its key arrives in a later
        batch (a corrected file, a replay, the original re-sent): loaded, updated or
        identical to what is stored. A key merely being stored is not enough, since a
        rejected correction of a known employee would then vanish at once."""
        spec = self.spec
        keys = self._key_sql("s")
        self.con.execute(
            f"""
            UPDATE dead_letters d SET resolved_batch = {self.batch_id}
            WHERE d.resolved_batch IS NULL AND d.disposition = 'rejected'
              AND d.table_name = {quote_str(spec.name)} AND d.record_key IS NOT NULL
              AND d.last_batch < {self.batch_id}
              AND d.record_key IN (SELECT {keys} FROM _stage s WHERE len(s._problems) = 0)
            """
        )
        if self.pii:
            # A dropped field is resolved when the record comes again with it valid.
            self.con.execute(
                f"""
                UPDATE dead_letters d SET resolved_batch = {self.batch_id}
                WHERE d.resolved_batch IS NULL AND d.disposition = 'field_dropped'
                  AND d.table_name = {quote_str(spec.name)}
                  AND d.record_key IN (
                    SELECT {keys} FROM _stage s
                    WHERE len(s._problems) = 0 AND len(s._dropped) = 0
                  )
                """
            )

    # -- personal data ----------------------------------------------------------------
    def _hash_personal_data(self, stage: pa.Table) -> pa.Table:
        """Normalise and hash email/phone; the raw values never reach a stored table.

        Rows already rejected keep no hash; a value that cannot be normalised drops just
        that field and is noted in ``_dropped`` (the row still loads).
        """
        ok = pc.equal(pc.list_value_length(stage["_problems"]), 0)
        dropped = []
        for col in self.pii:
            values = pc.if_else(ok, stage[col.name], pa.scalar(None, stage[col.name].type))
            hashed, invalid = hash_column(self.key, col.pii, values, self.phone_region)
            code = pa.scalar(f"{col.name}:{pii_reason(col.pii)}", pa.string())
            dropped.append(pc.if_else(invalid, code, pa.scalar(None, pa.string())))
            index = stage.schema.get_field_index(col.name)
            stage = stage.set_column(index, col.stored_name, hashed)
        return stage.append_column("_dropped", _row_lists(dropped))

    # -- loading ----------------------------------------------------------------------
    def _stored_select(self, alias: str, aliased: bool = False) -> str:
        exprs = []
        for col in self.spec.columns:
            if col.name == "record_count":
                # The contract's default: a record per customer named; with neither a
                # count nor a customer (a bulk read whose log gives no row count) the
                # count is unknown, kept as NULL rather than a made-up 0.
                expr = f"coalesce({alias}.record_count, nullif(len({alias}.customer_ids), 0))"
            else:
                expr = f"{alias}.{col.stored_name}"
            exprs.append(f"{expr} AS {col.stored_name}" if aliased else expr)
        return ", ".join(exprs)

    # What must agree for a re-sent event to be the same event. Lists are left out so
    # that a re-ingest does not read every stored list back.
    _IDENTITY = ("time", "employee_id", "action", "destination", "record_count")

    def _events_select(self, stage_sql: str) -> str:
        """One pass over the batch: parsed, checked, and compared with stored events.

        ``_stored`` marks good rows whose id is already stored; ``_conflict`` those whose
        stored event differs (same id, different time, person, action ...): a reused id
        must not hide an export, so it becomes a letter instead of a duplicate.
        """
        key = self.spec.key[0]
        differs = " OR ".join(f"e.{c} IS DISTINCT FROM n.{c}" for c in self._IDENTITY)
        return f"""
            SELECT n.*, e.{key} IS NOT NULL AS _stored,
                   e.{key} IS NOT NULL AND ({differs}) AS _conflict
            FROM (
                SELECT s.{ROW}, s._problems, {self._stored_select("s", aliased=True)}
                FROM ({stage_sql}) s
            ) n
            LEFT JOIN (SELECT {key}, {", ".join(self._IDENTITY)} FROM {self.spec.name}) e
              ON e.{key} = n.{key} AND len(n._problems) = 0
        """

    def _mark_repeats(self, stage: pa.Table) -> pa.Table:
        """Add ``_duplicate`` and turn conflicting re-uses of an id into problems.

        Within the batch, the first row of an id wins; a later row equal to it is a
        duplicate, a different one a conflict. Repeated ids are found with a GROUP BY and
        only their rows are windowed, far cheaper than a window over the whole batch.
        """
        key, ident = self.spec.key[0], ", ".join(self._IDENTITY)
        self.con.register("_candidates", stage)
        try:
            later = self.con.sql(
                f"""
                SELECT {ROW}, hash({ident}) <> first_value(hash({ident}))
                    OVER (PARTITION BY {key} ORDER BY {ROW}) AS differs
                FROM _candidates
                WHERE len(_problems) = 0 AND NOT _stored AND {key} IN (
                    SELECT {key} FROM _candidates WHERE len(_problems) = 0
                    GROUP BY {key} HAVING count(*) > 1
                )
                QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY {ROW}) > 1
                """
            ).to_arrow_table()
        finally:
            self.con.unregister("_candidates")
        rows = stage[ROW]
        repeat = pc.is_in(rows, value_set=later[ROW])
        repeat_conflict = pc.is_in(rows, value_set=later.filter(later["differs"])[ROW])
        conflict = pc.or_(pc.fill_null(stage["_conflict"], False), repeat_conflict)
        stored = pc.fill_null(stage["_stored"], False)
        duplicate = pc.and_(pc.or_(stored, repeat), pc.invert(conflict))
        if pc.any(conflict).as_py():
            problems = stage["_problems"].to_pylist()
            for i in pc.indices_nonzero(conflict).to_pylist():
                problems[i] = [f"{key}:conflicting_duplicate"]
            index = stage.schema.get_field_index("_problems")
            stage = stage.set_column(index, "_problems", pa.array(problems, pa.list_(pa.string())))
        return stage.append_column("_duplicate", duplicate)

    def _append_events(self, stage: pa.Table, counts: LoadCounts) -> None:
        """Write the batch's new, valid events as a Parquet segment."""
        spec = self.spec
        good = pc.equal(pc.list_value_length(stage["_problems"]), 0)
        duplicate = pc.and_(good, stage["_duplicate"])
        new = stage.filter(pc.and_(good, pc.invert(stage["_duplicate"])))
        if new.num_rows:
            schema = spec.stored_arrow_schema()
            table = new.select(schema.names).cast(schema)
            table = table.append_column(
                "batch_id", pa.array(np.full(table.num_rows, self.batch_id))
            )
            self.store.add_segment(spec.name, table, self.batch_id)
            self.store.refresh_views()
        counts.loaded += new.num_rows
        counts.duplicates += pc.sum(duplicate).as_py() or 0
        if self.track_rows:
            self.outcomes = pa.table(
                {
                    ROW: stage[ROW].filter(good),
                    "outcome": pc.if_else(duplicate.filter(good), "duplicate", "loaded"),
                }
            )

    def _upsert_context(self, counts: LoadCounts) -> None:
        spec = self.spec
        keys = ", ".join(spec.key)
        cols = [c.stored_name for c in spec.columns]
        # Within one input the last row for a key wins: later rows are later corrections.
        self.con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE _good AS
            SELECT {self._stored_select("s", aliased=True)}, s.{ROW}
            FROM _stage s WHERE len(s._problems) = 0
            QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY s.{ROW} DESC) = 1
            """
        )
        on = " AND ".join(f"g.{k} = t.{k}" for k in spec.key)
        differs = " OR ".join(f"g.{c} IS DISTINCT FROM t.{c}" for c in cols)
        if self.track_rows:
            self._context_outcomes(on, differs)
        new = self.scalar(
            f"SELECT count(*) FROM _good g WHERE NOT EXISTS (SELECT 1 FROM {spec.name} t WHERE {on})"
        )
        changed = self.scalar(
            f"SELECT count(*) FROM _good g JOIN {spec.name} t ON {on} WHERE {differs}"
        )
        if new or changed:
            self.con.execute(
                f"""
                INSERT OR REPLACE INTO {spec.name} ({", ".join(cols)}, batch_id)
                SELECT {", ".join(f"g.{c}" for c in cols)}, {self.batch_id} FROM _good g
                WHERE NOT EXISTS (SELECT 1 FROM {spec.name} t WHERE {on} AND NOT ({differs}))
                """
            )
        good = self.scalar("SELECT count(*) FROM _stage WHERE len(_problems) = 0")
        counts.loaded += new
        counts.updated += changed
        # Unchanged rows, and earlier rows of a key repeated within the input.
        counts.duplicates += good - new - changed

    def _context_outcomes(self, on: str, differs: str) -> None:
        """Before the upsert: each good row is new, a change, or what is stored already
        (an earlier row of a key repeated within the input is a duplicate too)."""
        self.outcomes = self.con.sql(
            f"""
            SELECT s.{ROW}, CASE
                WHEN g.{ROW} IS NULL THEN 'duplicate'
                WHEN NOT EXISTS (SELECT 1 FROM {self.spec.name} t WHERE {on}) THEN 'loaded'
                WHEN EXISTS (SELECT 1 FROM {self.spec.name} t WHERE {on} AND ({differs}))
                    THEN 'updated'
                ELSE 'duplicate' END AS outcome
            FROM _stage s LEFT JOIN _good g ON g.{ROW} = s.{ROW}
            WHERE len(s._problems) = 0
            """
        ).to_arrow_table()
