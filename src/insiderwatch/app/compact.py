"""Merging small event segments: the limits the service's compaction duty and the
`insiderwatch store compact` command share, and the command's use case."""

from __future__ import annotations

from insiderwatch.app.deployment import Deployment
from insiderwatch.contract.runs import CompactionReport
from insiderwatch.settings import Settings
from insiderwatch.store.compact import compact_segments


def compaction_limits(settings: Settings) -> tuple[int, int]:
    """(small_rows, max_rows): a segment under a quarter of a load batch counts as small,
    and a merge writes at most one load batch's worth (what ingest holds in memory)."""
    return max(settings.batch_rows // 4, 1), settings.batch_rows


def compact(
    deployment: Deployment, *, table: str = "access", min_segments: int | None = None
) -> CompactionReport:
    """Merge the store's small segments now. This process holds the store's only
    read-write connection (DuckDB lets no other process open it meanwhile), so no reader
    can be on the replaced files and they are deleted at once."""
    settings = deployment.settings
    small_rows, max_rows = compaction_limits(settings)
    with deployment.open_store(create=False) as store:
        before = len(store.segment_files(table))
        done = compact_segments(
            store, table=table, small_rows=small_rows, max_rows=max_rows,
            min_segments=min_segments or settings.compact_min_segments,
        )  # fmt: skip
        for path in done.retired:
            path.unlink(missing_ok=True)
        after = len(store.segment_files(table))
    return CompactionReport(
        table=table,
        segments_before=before,
        segments_after=after,
        merged=done.merged,
        written=done.written,
        rows=done.rows,
        waiting=done.waiting,
    )
