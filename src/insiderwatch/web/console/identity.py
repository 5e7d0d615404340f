"""How an employee is shown to a console user: by pseudonym (the deployment's keyed
pseudonym, the same one alerts and the API carry), and by name only to a user who holds
an approved, unexpired unmasking of that pseudonym (``app.unmask.identity_for``, which
audits each such showing). Every page shows staff through this module."""

from __future__ import annotations

from collections.abc import Callable

from insiderwatch.app.staff import Person
from insiderwatch.app.unmask import held_unmaskings, identity_for
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


def names_for(console: Console, viewer: Viewer) -> Callable[[str], str]:
    """``shown_name`` for the many employees of one page: the viewer's unmaskings are
    read once; only an employee under one of them is looked up (and that use audited)."""
    of = console.service.pseudonyms.of
    if viewer.role not in UNMASK_REQUESTERS:
        return of
    held = {r.pseudonym for r in held_unmaskings(console.ops, viewer.name)}

    def name(employee_id: str) -> str:
        pseudonym = of(employee_id)
        if pseudonym not in held:
            return pseudonym
        shown = identity(console, viewer, pseudonym)
        if not shown.unmasked:  # expired or revoked since the page began
            return pseudonym
        return f"{shown.display_name or shown.employee_id} ({shown.employee_id}, {pseudonym})"

    return name


def shown_name(console: Console, viewer: Viewer, employee_id: str) -> str:
    """What ``viewer`` sees for ``employee_id``: the pseudonym, with the name and id
    beside it under their approved unmasking."""
    return names_for(console, viewer)(employee_id)
