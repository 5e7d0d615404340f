"""How an employee is shown to a console user: by pseudonym (the deployment's keyed
pseudonym, the same one alerts and the API carry), and by name only to a user who holds
an approved, unexpired unmasking of that pseudonym (``app.unmask.identity_for``, which
audits each such showing). Every page shows staff through this module."""

from __future__ import annotations

from insiderwatch.app.staff import Person
from insiderwatch.app.unmask import identity_for
from insiderwatch.contract.console import Viewer
from insiderwatch.contract.workflow import UNMASK_REQUESTERS, StaffIdentity
from insiderwatch.web.console.context import Console


def person_of(console: Console, pseudonym: str) -> Person | None:
    with console.service.reading() as store:
        return console.service.pseudonyms.find(store, pseudonym)


def identity(console: Console, viewer: Viewer, pseudonym: str) -> StaffIdentity:
    """Who ``viewer`` may see behind ``pseudonym`` now. Only the roles that may ask for an
    unmasking can hold one, so the others are not even looked up."""
    if viewer.role not in UNMASK_REQUESTERS:
        return StaffIdentity(pseudonym=pseudonym)
    return identity_for(console.ops, viewer.name, pseudonym, lambda p: person_of(console, p))


def shown_name(console: Console, viewer: Viewer, employee_id: str) -> str:
    """What ``viewer`` sees for ``employee_id``: the pseudonym, with the name and id
    beside it under their approved unmasking."""
    pseudonym = console.service.pseudonyms.of(employee_id)
    shown = identity(console, viewer, pseudonym)
    if not shown.unmasked:
        return pseudonym
    return f"{shown.display_name or shown.employee_id} ({shown.employee_id}, {pseudonym})"
