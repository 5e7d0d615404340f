"""``insiderwatch unmask``: ask to see who is behind a staff pseudonym, decide, revoke,
list. Each command calls one use case in ``insiderwatch.app.unmask``; ``--by`` names the
user who acts (their role decides what they may do) and is written to the audit log."""

from __future__ import annotations

from typing import Annotated

import typer

from insiderwatch.app import unmask as cases
from insiderwatch.cli.app import ConfigOption, DbOption, JsonOption, app, deployment_for, out, shown
from insiderwatch.cli.ops import OpsUrlOption, WhyOption, _json, _listing, _ops, _ops_of
from insiderwatch.contract.workflow import UNMASK_STATES, UnmaskRequest

unmask_app = typer.Typer(
    help="Unmask a staff pseudonym: a reasoned request, a privacy officer's approval, expiry.",
    no_args_is_help=True,
)
app.add_typer(unmask_app, name="unmask")

UserOption = Annotated[
    str, typer.Option("--by", help="The user who acts (a user of the operational store).")
]
RequestArg = Annotated[int, typer.Argument(help="The unmask request (its number).")]


def _show(req: UnmaskRequest, as_json: bool) -> None:
    if as_json:
        _json(req)
        return
    until = f" until {req.expires_at:%Y-%m-%d %H:%M} UTC" if req.state == "approved" else ""
    out.print(
        f"unmask request {req.request_id}: {shown(req.pseudonym)} for {shown(req.requester)}: "
        f"{req.state}{until}",
        highlight=False,
    )


@unmask_app.command("request")
def request(
    pseudonym: Annotated[str, typer.Argument(help="The staff pseudonym (anon-...).")],
    reason: Annotated[str, typer.Option("--reason", help="Why you need to know (required).")],
    by: UserOption,
    db: DbOption = None,
    config: ConfigOption = None,
    ops_url: OpsUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Ask to see who is behind a pseudonym (analysts and investigators)."""
    with _ops(db, config, ops_url) as ops:
        made = cases.request_unmask(ops, requester=by, pseudonym=pseudonym, reason=reason)
    _show(made, as_json)


def _decide(request_id: int, approve: bool, by: str, why: str, hours, db, config, ops_url, as_json):
    deployment = deployment_for(db, config, ops_url=ops_url)
    hours = hours or deployment.settings.unmask_hours
    with _ops_of(deployment) as ops:
        done = cases.decide_unmask(
            ops, request_id, approver=by, approve=approve, hours=hours, why=why
        )
    _show(done, as_json)


@unmask_app.command("approve")
def approve(
    request_id: RequestArg,
    by: UserOption,
    hours: Annotated[
        float | None,
        typer.Option(help="How long it holds (default: the unmask_hours setting).", min=0.01),
    ] = None,
    why: WhyOption = "",
    db: DbOption = None,
    config: ConfigOption = None,
    ops_url: OpsUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Approve a request (a privacy officer other than the requester)."""
    _decide(request_id, True, by, why, hours, db, config, ops_url, as_json)


@unmask_app.command("reject")
def reject(
    request_id: RequestArg,
    by: UserOption,
    why: Annotated[str, typer.Option("--why", help="Why not (required).")],
    db: DbOption = None,
    config: ConfigOption = None,
    ops_url: OpsUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Reject a request, with the reason."""
    _decide(request_id, False, by, why, None, db, config, ops_url, as_json)


@unmask_app.command("revoke")
def revoke(
    request_id: RequestArg,
    by: UserOption,
    why: WhyOption = "",
    db: DbOption = None,
    config: ConfigOption = None,
    ops_url: OpsUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """End an unmasking before it expires (a privacy officer, or its requester)."""
    with _ops(db, config, ops_url) as ops:
        done = cases.revoke_unmask(ops, request_id, actor=by, why=why)
    _show(done, as_json)


@unmask_app.command("list")
def list_requests(
    state: Annotated[
        str | None,
        typer.Option(help=f"Only these: {', '.join(UNMASK_STATES)}.", show_default=False),
    ] = None,
    requester: Annotated[
        str | None, typer.Option(help="Only this user's requests.", show_default=False)
    ] = None,
    limit: Annotated[int, typer.Option(help="Requests to show, newest first.")] = 100,
    db: DbOption = None,
    config: ConfigOption = None,
    ops_url: OpsUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Unmask requests and where each stands (approvals whose time is up show expired)."""
    with _ops(db, config, ops_url) as ops:
        found = cases.unmask_requests(ops, state=state, requester=requester, limit=limit)
    columns = ("id", "pseudonym", "requester", "reason", "state", "by", "until")
    _listing(found, as_json, f"{len(found)} unmask request(s)", columns, lambda r: (
        str(r.request_id), r.pseudonym, shown(r.requester), shown(r.reason), r.state,
        shown(r.approver or r.revoked_by or ""),
        f"{r.expires_at:%Y-%m-%d %H:%M}" if r.expires_at else ""))  # fmt: skip
