"""The customer page: "who looked at my data and why", what a data-access request or a
complaint needs. A customer is found by id, or by an email or phone typed in, which is
posted (never put in a URL, where access logs would keep it), hashed with the deployment
key in memory and matched against the stored hashes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from insiderwatch.app.people import customer_page, find_customers
from insiderwatch.contract.console import Viewer
from insiderwatch.web.console.access import current_viewer
from insiderwatch.web.console.context import console_of
from insiderwatch.web.console.registry import TRIAGE, Pages
from insiderwatch.web.console.render import render

pages = Pages(__name__)
# Who answers customers' questions about their data: the triage roles and the privacy
# officer (data-access requests are theirs).
CUSTOMER_READERS = TRIAGE | {"privacy_officer"}


@pages.get("/customers", roles=CUSTOMER_READERS, nav="Customers", nav_order=40)
def search(request: Request, viewer: Annotated[Viewer, Depends(current_viewer)]) -> Response:
    return render(request, "customer_search.html", viewer, title="Find a customer", found=None)


@pages.post("/customers/find", roles=CUSTOMER_READERS)
def find(
    request: Request,
    viewer: Annotated[Viewer, Depends(current_viewer)],
    typed: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    console = console_of(request)
    service = console.service
    with service.reading() as store:
        found = find_customers(console.ops, store, service.key, viewer.name, typed,
                               phone_region=service.deployment.phone_region)  # fmt: skip
    if len(found) == 1:
        return RedirectResponse(f"/customers/{found[0]}", status_code=303)
    # The typed value is not echoed back: the page would put it in the browser's history.
    return render(request, "customer_search.html", viewer, title="Find a customer",
                  found=found, status=200 if found else 404)  # fmt: skip


@pages.get("/customers/{customer_id}", roles=CUSTOMER_READERS)
def customer(
    request: Request, customer_id: str, viewer: Annotated[Viewer, Depends(current_viewer)]
) -> Response:
    console = console_of(request)
    with console.service.reading() as store:
        file = customer_page(console.ops, store, console.service.pseudonyms, viewer.name,
                             customer_id)  # fmt: skip
    if file is None:
        return render(request, "error.html", viewer, status=404, title="No such customer",
                      message=f"No customer has the id {customer_id}.")  # fmt: skip
    return render(request, "customer.html", viewer, title=f"Customer {customer_id}", file=file)
