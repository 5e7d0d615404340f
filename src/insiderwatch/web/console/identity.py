"""How an employee is shown to a console user: by pseudonym (the deployment's keyed
pseudonym, the same one alerts and the API carry). Unmasking (a reasoned, approved,
expiring, audited request) extends this function; every page shows staff through it."""

from __future__ import annotations

from insiderwatch.contract.console import Viewer
from insiderwatch.web.console.context import Console


def shown_name(console: Console, viewer: Viewer, employee_id: str) -> str:
    """What ``viewer`` sees for ``employee_id``: the pseudonym."""
    del viewer  # everyone sees the pseudonym until unmasking is approved for them
    return console.service.pseudonyms.of(employee_id)
