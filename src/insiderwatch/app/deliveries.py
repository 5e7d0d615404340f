"""Use cases over alert deliveries: list them (dead letters included) and replay."""

from __future__ import annotations

from insiderwatch.app.deployment import Deployment
from insiderwatch.app.response import open_responder, response_store
from insiderwatch.errors import InsiderwatchError
from insiderwatch.respond.records import Delivery


def list_deliveries(
    deployment: Deployment, status: str | None = None, limit: int = 50
) -> list[Delivery]:
    return response_store(deployment).deliveries(status=status, limit=limit)


def replay_deliveries(
    deployment: Deployment, delivery_ids: list[str], dead: bool = False
) -> list[Delivery]:
    """Send the given deliveries again (``dead``: every dead letter); returns their new
    state. A replay goes through the same tries and backoff as the first sending."""
    store = response_store(deployment)
    ids = list(delivery_ids)
    if dead:
        ids += [d.delivery_id for d in store.deliveries(status="dead", limit=100_000)]
    if not ids:
        raise InsiderwatchError("nothing to replay: give delivery ids or --dead")
    with open_responder(deployment, store=store) as responder:
        return responder.deliverer.replay(ids)
