"""Response commands: respond (send an alert history through routes and playbooks),
playbooks check, contain list/show/approve/reject/reinstate, deliveries list/replay.

Staff appear as their pseudonyms here: the raw employee id of a containment action is
kept in the operational store for the identity provider, never printed.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Any

import msgspec
import typer
from rich.table import Table

from insiderwatch.app.contain import (
    StoreSubjects,
    approve_action,
    check_playbooks,
    list_actions,
    reinstate_action,
    reject_action,
    retry_action,
    show_action,
)
from insiderwatch.app.deliveries import list_deliveries, replay_deliveries
from insiderwatch.app.response import open_responder
from insiderwatch.cli.app import (
    ConfigOption,
    DbOption,
    JsonOption,
    app,
    deployment_for,
    err,
    fail,
    out,
    print_json,
    shown,
)
from insiderwatch.errors import InsiderwatchError
from insiderwatch.export.ocsf import read_alerts
from insiderwatch.respond.records import Containment, Delivery
from insiderwatch.respond.responder import unknown_subject

OpsUrlOption = Annotated[
    str | None,
    typer.Option(
        "--ops-url",
        help="Operational store URL (default: the `ops_url` setting).",
        show_default=False,
    ),
]
RespondConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--respond-config",
        help="Response file (default: the `respond_config` setting).",
        show_default=False,
    ),
]
ByOption = Annotated[str, typer.Option("--by", help="Who does it (recorded with the action).")]
NoteOption = Annotated[str, typer.Option("--note", help="Why (recorded).")]

playbooks_app = typer.Typer(
    help="Containment playbooks and the response file.", no_args_is_help=True
)
contain_app = typer.Typer(
    help="Containment actions: list, show, approve, reject, retry, reinstate.", no_args_is_help=True
)
deliveries_app = typer.Typer(
    help="Alert deliveries to sinks, and replay of dead letters.", no_args_is_help=True
)
app.add_typer(playbooks_app, name="playbooks")
app.add_typer(contain_app, name="contain")
app.add_typer(deliveries_app, name="deliveries")


def _deployment(db, config, ops_url, respond_config):
    return deployment_for(db, config, ops_url=ops_url, respond_config=respond_config)


def _public(action: Containment) -> dict[str, Any]:
    data = msgspec.to_builtins(action)
    data.pop("employee_id")
    return data


@app.command("respond")
def respond_command(
    alerts: Annotated[Path, typer.Argument(help="Alert history (alerts.jsonl), in order.")],
    db: DbOption = None,
    config: ConfigOption = None,
    ops_url: OpsUrlOption = None,
    respond_config: RespondConfigOption = None,
) -> None:
    """Send an alert history through the routes and playbooks, as the live loop does."""
    deployment = _deployment(db, config, ops_url, respond_config)
    try:
        lines = list(read_alerts(alerts))
        with ExitStack() as stack:
            subjects = unknown_subject
            if deployment.store_path.exists():  # roles and learned routine, from the store
                store = stack.enter_context(deployment.open_store(read_only=True))
                subjects = StoreSubjects(store)
            responder = stack.enter_context(open_responder(deployment, subjects=subjects))
            done = responder.handle(lines)
            storms = responder.flush()
    except InsiderwatchError as exc:
        raise fail(exc) from None
    err.print(
        f"{done.lines} alert lines: {done.notices} notices sent, {done.held} held by the "
        f"throttle into {done.storms + storms} storm message(s), "
        f"{len(done.containment)} containment action(s)"
    )
    for action in done.containment:
        out.print(
            f"{action.action_id}  {action.playbook}  {action.action}  {action.status}  {shown(action.employee)}"
        )


@playbooks_app.command("check")
def playbooks_check(path: Annotated[Path, typer.Argument(help="Response file (YAML).")]) -> None:
    """Validate a response file; every problem is printed as file:line:field."""
    try:
        cfg = check_playbooks(path)
    except InsiderwatchError as exc:
        raise fail(exc) from None
    out.print(
        f"{shown(path)}: ok: {len(cfg.sinks)} sinks, {len(cfg.routes)} routes, "
        f"{len(cfg.playbooks)} playbooks"
    )
    for book in cfg.playbooks:
        actions = ", ".join(a.type for a in book.actions)
        out.print(f"  {shown(book.name)}: {book.mode}, {actions}")


@contain_app.command("list")
def contain_list(
    status: Annotated[
        str | None,
        typer.Option(
            "--status", help="pending, done, dry_run, rejected, expired, failed, reinstated."
        ),
    ] = None,
    limit: Annotated[int, typer.Option("--limit")] = 50,
    db: DbOption = None,
    config: ConfigOption = None,
    ops_url: OpsUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Containment actions, newest first."""
    try:
        actions = list_actions(_deployment(db, config, ops_url, None), status, limit)
    except InsiderwatchError as exc:
        raise fail(exc) from None
    if as_json:
        print_json([_public(a) for a in actions])
        return
    table = Table(
        "action", "playbook", "what", "mode", "status", "staff", "approvals", "requested", "expires"
    )
    for a in actions:
        table.add_row(
            a.action_id,
            shown(a.playbook),
            a.action,
            a.mode,
            a.status,
            shown(a.employee),
            f"{len(a.approvers)}/{a.approvals_needed}",
            f"{a.requested_at:%Y-%m-%d %H:%M}",
            f"{a.expires_at:%Y-%m-%d %H:%M}" if a.expires_at else "",
        )
    out.print(table)


@contain_app.command("show")
def contain_show(
    action_id: str,
    db: DbOption = None,
    config: ConfigOption = None,
    ops_url: OpsUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """One containment action with its trail (who, when, what, why)."""
    try:
        action = show_action(_deployment(db, config, ops_url, None), action_id)
    except InsiderwatchError as exc:
        raise fail(exc) from None
    if as_json:
        print_json(_public(action))
        return
    _print_action(action)


def _print_action(a: Containment) -> None:
    out.print(f"{a.action_id}: {a.action} of {shown(a.employee)} by playbook {shown(a.playbook)}")
    out.print(f"  status {a.status}, mode {a.mode} (playbook asks {a.requested_mode})")
    out.print(f"  why: {shown(a.reason)}")
    if a.result:
        out.print(f"  result: {shown(a.result)}")
    for e in a.events:
        note = f": {shown(e.note)}" if e.note else ""
        out.print(f"  {e.at:%Y-%m-%d %H:%M:%S} {shown(e.actor)} {e.event}{note}")


def _decide(fn, *args) -> None:
    try:
        action = fn(*args)
    except InsiderwatchError as exc:
        raise fail(exc) from None
    _print_action(action)
    if action.status == "failed":
        raise typer.Exit(1)


@contain_app.command("approve")
def contain_approve(
    action_id: str,
    by: ByOption,
    note: NoteOption = "",
    db: DbOption = None,
    config: ConfigOption = None,
    ops_url: OpsUrlOption = None,
    respond_config: RespondConfigOption = None,
) -> None:
    """Approve a pending action; it runs once enough distinct people approved."""
    _decide(approve_action, _deployment(db, config, ops_url, respond_config), action_id, by, note)


@contain_app.command("reject")
def contain_reject(
    action_id: str,
    by: ByOption,
    note: NoteOption = "",
    db: DbOption = None,
    config: ConfigOption = None,
    ops_url: OpsUrlOption = None,
    respond_config: RespondConfigOption = None,
) -> None:
    """Reject a pending action; it will not run."""
    _decide(reject_action, _deployment(db, config, ops_url, respond_config), action_id, by, note)


@contain_app.command("retry")
def contain_retry(
    action_id: str,
    by: ByOption,
    note: NoteOption = "",
    db: DbOption = None,
    config: ConfigOption = None,
    ops_url: OpsUrlOption = None,
    respond_config: RespondConfigOption = None,
) -> None:
    """Run a failed action again (e.g. the identity provider was down)."""
    _decide(retry_action, _deployment(db, config, ops_url, respond_config), action_id, by, note)


@contain_app.command("reinstate")
def contain_reinstate(
    action_id: str,
    by: ByOption,
    why: Annotated[str, typer.Option("--why", help="Why access comes back (recorded).")],
    db: DbOption = None,
    config: ConfigOption = None,
    ops_url: OpsUrlOption = None,
    respond_config: RespondConfigOption = None,
) -> None:
    """Reverse a done action (suspend: SCIM PATCH active=true)."""
    _decide(reinstate_action, _deployment(db, config, ops_url, respond_config), action_id, by, why)


def _delivery_row(d: Delivery) -> list[str]:
    return [
        d.delivery_id,
        shown(d.route),
        shown(d.sink),
        d.status,
        str(d.tries),
        f"{d.updated_at:%Y-%m-%d %H:%M:%S}",
        shown(d.last_error[:80]),
    ]


def _deliveries_out(items: list[Delivery], as_json: bool) -> None:
    if as_json:
        print_json(
            [{k: v for k, v in msgspec.to_builtins(d).items() if k != "notice"} for d in items]
        )
        return
    table = Table("delivery", "route", "sink", "status", "tries", "updated", "last error")
    for d in items:
        table.add_row(*_delivery_row(d))
    out.print(table)


@deliveries_app.command("list")
def deliveries_list(
    status: Annotated[
        str | None, typer.Option("--status", help="pending, delivered or dead.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit")] = 50,
    db: DbOption = None,
    config: ConfigOption = None,
    ops_url: OpsUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Deliveries of alert notices, newest first (dead ones are the dead letters)."""
    try:
        items = list_deliveries(_deployment(db, config, ops_url, None), status, limit)
    except InsiderwatchError as exc:
        raise fail(exc) from None
    _deliveries_out(items, as_json)


@deliveries_app.command("replay")
def deliveries_replay(
    delivery_ids: Annotated[
        list[str] | None, typer.Argument(help="Deliveries to send again.")
    ] = None,
    dead: Annotated[bool, typer.Option("--dead", help="Replay every dead letter.")] = False,
    db: DbOption = None,
    config: ConfigOption = None,
    ops_url: OpsUrlOption = None,
    respond_config: RespondConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Send deliveries again with the same notice, tries and backoff."""
    deployment = _deployment(db, config, ops_url, respond_config)
    try:
        items = replay_deliveries(deployment, delivery_ids or [], dead)
    except InsiderwatchError as exc:
        raise fail(exc) from None
    _deliveries_out(items, as_json)
    if any(d.status != "delivered" for d in items):
        raise typer.Exit(1)
