"""The alert queue's use cases: a filtered, keyset-paged queue with noisy detectors
grouped, the filters' choices, and bulk triage that changes what it can and says why it
refused the rest."""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
import weakref

import msgspec

from insiderwatch.contract.console import (
    BulkRefusal,
    BulkResult,
    NoisyGroup,
    QueuePage,
    QueueQuery,
)
from insiderwatch.detect.explain import PEER_GROUP
from insiderwatch.errors import InsiderwatchError
from insiderwatch.store import Store
from insiderwatch.store.ops import OpsStore, workflow
from insiderwatch.store.ops import queue as repo
from insiderwatch.store.ops.queue import Key

BULK_MAX = 500  # alerts changed by one bulk request


class QueueError(InsiderwatchError):
    """A queue request that cannot be answered as asked (a stale or altered page link)."""


class QueueChoices(msgspec.Struct, kw_only=True, frozen=True):
    detectors: list[str]
    assignees: list[str]
    peer_groups: list[str]


def encode_cursor(sort: str, key: Key) -> str:
    value = key[0].isoformat() if isinstance(key[0], dt.datetime) else key[0]
    raw = json.dumps([sort, value, key[1]]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(sort: str, cursor: str) -> Key:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        made_for, value, alert_id = json.loads(raw)
        if made_for != sort or not isinstance(alert_id, str):
            raise ValueError("made for another order")
        if sort == "score":
            return float(value), alert_id
        return dt.datetime.fromisoformat(value).astimezone(dt.UTC), alert_id
    except (ValueError, TypeError, json.JSONDecodeError) as exc:
        raise QueueError(f"page link {cursor[:40]!r} is not valid for this order: {exc}") from None


def peer_group_members(store: Store, group: str) -> list[str]:
    sql = f"SELECT employee_id FROM employees e WHERE {PEER_GROUP} = ? ORDER BY 1"
    return [row[0] for row in store.con.execute(sql, [group]).fetchall()]


def peer_groups(store: Store) -> list[str]:
    sql = f"SELECT DISTINCT {PEER_GROUP} FROM employees e ORDER BY 1"
    return [row[0] for row in store.con.execute(sql).fetchall()]


# The noisy-detector count reads every new low or medium alert (from an index): done for
# each page of a busy queue it would cost more than the page. Kept this long per store and
# threshold, so a group's count may lag triage by as much.
NOISY_GROUPS_SECONDS = 10.0
_noisy_cache: weakref.WeakKeyDictionary[OpsStore, dict[int, tuple[float, list[NoisyGroup]]]] = (
    weakref.WeakKeyDictionary()
)


def _noisy_groups(ops: OpsStore, at_least: int) -> list[NoisyGroup]:
    by_threshold, now = _noisy_cache.setdefault(ops, {}), time.monotonic()
    cached = by_threshold.get(at_least)
    if cached is None or now - cached[0] >= NOISY_GROUPS_SECONDS:
        with ops.session() as s:
            groups = repo.noisy_groups(s, QueueQuery(), at_least=at_least, employee_ids=None)
        cached = by_threshold[at_least] = (now, groups)
    return cached[1]


def alert_queue(
    ops: OpsStore, q: QueueQuery, *, store: Store | None = None, noisy_after: int
) -> QueuePage:
    """One page of the queue. ``store`` (the analytics store) is needed only to resolve a
    peer group to its members; ``noisy_after`` new low/medium alerts from one detector
    set make it one grouped row (0: never group)."""
    members = None
    if q.peer_group:
        if store is None:
            raise QueueError("filtering by peer group needs the analytics store")
        members = peer_group_members(store, q.peer_group)
    after = decode_cursor(q.sort, q.after) if q.after else None
    ops.refresh_statistics()  # at most every few minutes: keeps SQLite on the right index
    groups = _noisy_groups(ops, noisy_after) if noisy_after and repo.folds(q, members) else []
    with ops.session() as s:
        noisy = ["+".join(g.detectors) for g in groups]
        alerts, last = repo.page(s, q, after=after, employee_ids=members, noisy=noisy)
    return QueuePage(
        alerts=alerts,
        groups=groups if not q.after else [],  # the groups head the first page only
        next_cursor=encode_cursor(q.sort, last) if last else None,
    )


def queue_choices(ops: OpsStore, store: Store) -> QueueChoices:
    with ops.session() as s:
        return QueueChoices(
            detectors=repo.detectors(s),
            assignees=repo.assignees(s),
            peer_groups=peer_groups(store),
        )


def _bulk(ops: OpsStore, alert_ids: list[str], change) -> BulkResult:
    if len(alert_ids) > BULK_MAX:
        raise QueueError(f"{len(alert_ids)} alerts at once: at most {BULK_MAX} per request")
    changed, refused = [], []
    for alert_id in dict.fromkeys(alert_ids):
        try:
            with ops.session() as s:  # one transaction each: a refusal undoes only itself
                change(s, alert_id)
        except workflow.WorkflowError as exc:
            refused.append(BulkRefusal(alert_id=alert_id, reason=str(exc)))
        else:
            changed.append(alert_id)
    return BulkResult(changed=changed, refused=refused)


def bulk_assign(
    ops: OpsStore, alert_ids: list[str], assignee: str | None, *, actor: str, why: str = ""
) -> BulkResult:
    return _bulk(ops, alert_ids, lambda s, a: workflow.assign(s, a, assignee, actor=actor, why=why))


def bulk_move(
    ops: OpsStore,
    alert_ids: list[str],
    to_state: str,
    *,
    actor: str,
    why: str = "",
    close_reason: str | None = None,
) -> BulkResult:
    return _bulk(
        ops,
        alert_ids,
        lambda s, a: workflow.move_alert(
            s, a, to_state, actor=actor, why=why, close_reason=close_reason
        ),
    )
