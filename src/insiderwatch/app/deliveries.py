"""Use cases over alert deliveries: list them (dead letters included) and replay."""

from __future__ import annotations

from insiderwatch.app.response import open_responder, response_store
from insiderwatch.errors import InsiderwatchError
from insiderwatch.respond.records import Delivery
from insiderwatch.settings import Settings


def list_deliveries(
    settings: Settings, status: str | None = None, limit: int = 50
) -> list[Delivery]:
    return response_store(settings).deliveries(status=status, limit=limit)


def replay_deliveries(
    settings: Settings, delivery_ids: list[str], dead: bool = False
) -> list[Delivery]:
    """Send the given deliveries again (``dead``: every dead letter); returns their new
    state. A replay goes through the same tries and backoff as the first sending."""
    store = response_store(settings)
    ids = list(delivery_ids)
    if dead:
        ids += [d.delivery_id for d in store.deliveries(status="dead", limit=100_000)]
    if not ids:
        raise InsiderwatchError("nothing to replay: give delivery ids or --dead")
    with open_responder(settings, store=store) as responder:
        return responder.deliverer.replay(ids)
