"""Operational-store commands: alerts sync and triage, users, API tokens, the audit log.
Each opens the store named by ``--ops-url`` (or the ``ops_url`` setting) and calls one
use case in ``insiderwatch.app``."""

from __future__ import annotations

import sys
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, TypeVar

import msgspec
import typer
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from insiderwatch.app import alerts as alert_cases
from insiderwatch.app import tokens as token_cases
from insiderwatch.app import users as user_cases
from insiderwatch.app.deployment import Deployment
from insiderwatch.app.ops import audit_entries, local_actor, verify_audit
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
from insiderwatch.cli.detect import alerts_app
from insiderwatch.contract.workflow import ALERT_STATES, CLOSE_REASONS, ROLES
from insiderwatch.errors import InsiderwatchError
from insiderwatch.store.ops import OpsStore
from insiderwatch.store.ops.db import redacted

tokens_app = typer.Typer(help="API tokens for collectors and users.", no_args_is_help=True)
users_app = typer.Typer(
    help="Users of the console and the API, and their roles.", no_args_is_help=True
)
audit_app = typer.Typer(help="The append-only audit log.", no_args_is_help=True)
app.add_typer(tokens_app, name="tokens")
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")

OpsUrlOption = Annotated[
    str | None,
    typer.Option(
        "--ops-url",
        help="Operational store URL (default: the `ops_url` setting, else a SQLite file "
        "beside the --db store).",
        show_default=False,
    ),
]
ByOption = Annotated[
    str | None,
    typer.Option(
        "--by", help="Who acts, for the audit log (default: cli:<login name>).", show_default=False
    ),
]
WhyOption = Annotated[str, typer.Option("--why", help="Why, for the record.")]
T = TypeVar("T")


@contextmanager
def _ops(db: Path | None, config: Path | None, ops_url: str | None) -> Iterator[OpsStore]:
    """The opened store of the deployment the flags name."""
    with _ops_of(deployment_for(db, config, ops_url=ops_url)) as ops:
        yield ops


@contextmanager
def _ops_of(deployment: Deployment) -> Iterator[OpsStore]:
    """The opened store; the project's errors and a database failing mid-way end the
    command with one line, never a traceback."""
    try:
        with deployment.open_ops() as ops:
            yield ops
    except InsiderwatchError as exc:
        raise fail(exc) from None
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        where = redacted(deployment.ops_url)
        raise fail(f"ops store {where}: {reason}") from None


def _json(data) -> None:
    print_json(msgspec.to_builtins(data))


def _listing(
    found: Sequence[T],
    as_json: bool,
    title: str,
    columns: Sequence[str],
    row_of: Callable[[T], Sequence[str]],
    right: Collection[str] = (),
) -> None:
    """Records as JSON (``--json``) or as a table, a row each; ``right`` columns hold
    figures and are right-aligned."""
    if as_json:
        _json(found)
        return
    table = Table(title=title)
    for col in columns:
        table.add_column(col, justify="right" if col in right else "left")
    for record in found:
        table.add_row(*row_of(record))
    out.print(table)


# --- alerts -----------------------------------------------------------------------------


@alerts_app.command("sync")
def alerts_sync(
    source: Annotated[
        Path | None,
        typer.Option(
            "--from",
            help="An alerts.jsonl file (default: the --db store's alert history).",
            show_default=False,
        ),
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    ops_url: OpsUrlOption = None,
    by: ByOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record the alert history in the operational store. Idempotent: a line already
    there is a duplicate, and triage is never touched."""
    with _ops(db, config, ops_url) as ops:
        actor = by or local_actor()
        if source is not None:
            report = alert_cases.sync_file(ops, source, actor=actor)
        else:
            report = alert_cases.sync_deployment(deployment_for(db, config), ops, actor=actor)
    if as_json:
        _json(report)
        return
    out.print(
        f"{report.read:,} line(s) read: {report.recorded:,} recorded "
        f"({report.alerts_opened:,} new alert(s), {report.rewritten:,} rewritten), "
        f"{report.duplicates:,} already there, "
        f"{len(report.rejected):,} rejected"
    )
    for reject in report.rejected[:20]:
        err.print(
            f"[yellow]rejected[/] {shown(reject.where)}: {shown(reject.reason)}", highlight=False
        )


@alerts_app.command("triage")
def alerts_triage(
    alert_id: Annotated[str, typer.Argument(help="The alert.")],
    state: Annotated[str, typer.Argument(help=f"Where it goes: {', '.join(ALERT_STATES)}.")],
    reason: Annotated[
        str | None,
        typer.Option(
            "--reason", help=f"Closing only: {', '.join(CLOSE_REASONS)}.", show_default=False
        ),
    ] = None,
    case: Annotated[
        int | None, typer.Option("--case", help="Escalating: the case.", show_default=False)
    ] = None,
    new_case: Annotated[
        str | None,
        typer.Option(
            "--new-case", help="Escalating: open a case with this title.", show_default=False
        ),
    ] = None,
    why: WhyOption = "",
    db: DbOption = None,
    config: ConfigOption = None,
    ops_url: OpsUrlOption = None,
    by: ByOption = None,
    as_json: JsonOption = False,
) -> None:
    """Move an alert: new -> triaging -> escalated (to a case) -> closed (with a reason);
    a closed alert can go back to triaging."""
    with _ops(db, config, ops_url) as ops:
        moved = alert_cases.triage(
            ops,
            alert_id,
            state,
            actor=by or local_actor(),
            why=why,
            close_reason=reason,
            case_id=case,
            new_case=new_case,
        )
    if as_json:
        _json(moved)
        return
    extra = f" (case {moved.case_id})" if moved.state == "escalated" else ""
    extra += f" ({moved.close_reason})" if moved.close_reason else ""
    out.print(f"alert {shown(moved.alert_id)}: {moved.state}{extra}", highlight=False)


@alerts_app.command("assign")
def alerts_assign(
    alert_id: Annotated[str, typer.Argument(help="The alert.")],
    user: Annotated[str | None, typer.Argument(help="The user; leave out to take it back.")] = None,
    why: WhyOption = "",
    db: DbOption = None,
    config: ConfigOption = None,
    ops_url: OpsUrlOption = None,
    by: ByOption = None,
) -> None:
    """Give an alert to a user (or, without one, take it back)."""
    with _ops(db, config, ops_url) as ops:
        done = alert_cases.assign(ops, alert_id, user, actor=by or local_actor(), why=why)
    out.print(
        f"alert {shown(done.alert_id)}: assigned to {shown(done.assignee or 'nobody')}",
        highlight=False,
    )


@alerts_app.command("note")
def alerts_note(
    alert_id: Annotated[str, typer.Argument(help="The alert.")],
    text: Annotated[str, typer.Argument(help="The note.")],
    db: DbOption = None,
    config: ConfigOption = None,
    ops_url: OpsUrlOption = None,
    by: ByOption = None,
) -> None:
    """Add a note to an alert."""
    with _ops(db, config, ops_url) as ops:
        note = alert_cases.add_note(ops, alert_id, text, author=by or local_actor())
    out.print(f"alert {shown(alert_id)}: note {note.note_id} added", highlight=False)


@alerts_app.command("show")
def alerts_show(
    alert_id: Annotated[str, typer.Argument(help="The alert.")],
    why: WhyOption = "",
    db: DbOption = None,
    config: ConfigOption = None,
    ops_url: OpsUrlOption = None,
    by: ByOption = None,
    as_json: JsonOption = False,
) -> None:
    """Everything about an alert: its triage, detection's lines, moves, assignments and
    notes. The read is audited."""
    with _ops(db, config, ops_url) as ops:
        found = alert_cases.show(ops, alert_id, actor=by or local_actor(), why=why)
    if as_json:
        _json(found)
        return
    a = found.alert
    out.print(f"[bold]alert {shown(a.alert_id)}[/] employee {shown(a.employee_id)}  score {a.score:.0f} "
              f"({a.severity})  {a.state} since {a.state_since:%Y-%m-%d %H:%M}"
              f"{'  assigned to ' + shown(a.assignee) if a.assignee else ''}"
              f"{'  case ' + str(a.case_id) if a.case_id else ''}")  # fmt: skip
    out.print(shown(a.summary), highlight=False)
    rewritten = f", {len(found.superseded)} superseded by a later run" if found.superseded else ""
    out.print(f"detection: {len(found.revisions)} line(s){rewritten} (--json shows them)")
    table = Table(title="history")
    for col in ("when", "who", "what", "why"):
        table.add_column(col)
    events = [(t.at, t.actor, f"{t.from_state} -> {t.to_state}" + (f" ({t.close_reason})" if t.close_reason else ""), t.why) for t in found.transitions]  # fmt: skip
    events += [
        (x.at, x.actor, f"assigned to {x.assignee or 'nobody'}", x.why) for x in found.assignments
    ]
    events += [(n.at, n.author, f"note {n.note_id}", n.text) for n in found.notes]
    for when, who, what, text in sorted(events, key=lambda e: e[0]):
        table.add_row(f"{when:%Y-%m-%d %H:%M:%S}", shown(who), shown(what), shown(text))
    out.print(table)


@alerts_app.command("queue")
def alerts_queue(
    state: Annotated[
        str | None, typer.Option(help="Only alerts in this state.", show_default=False)
    ] = None,
    assignee: Annotated[
        str | None, typer.Option(help="Only alerts given to this user.", show_default=False)
    ] = None,
    limit: Annotated[int, typer.Option(help="Alerts to show, highest score first.")] = 50,
    db: DbOption = None,
    config: ConfigOption = None,
    ops_url: OpsUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """The triage queue: alerts in the operational store with their state and assignee."""
    with _ops(db, config, ops_url) as ops:
        found = alert_cases.queue(ops, state=state, assignee=assignee, limit=limit)
    columns = ("alert", "employee", "score", "severity", "state", "assignee", "summary")
    _listing(found, as_json, f"{len(found)} alert(s)", columns, lambda a: (
        shown(a.alert_id), shown(a.employee_id), f"{a.score:.0f}", a.severity, a.state,
        shown(a.assignee or ""), shown(a.summary)), right=("score",))  # fmt: skip


# --- tokens -----------------------------------------------------------------------------


@tokens_app.command("create")
def tokens_create(
    source: Annotated[
        str | None,
        typer.Option("--source", help="A token for this collector source.", show_default=False),
    ] = None,
    user: Annotated[
        str | None, typer.Option("--user", help="A token for this user.", show_default=False)
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    ops_url: OpsUrlOption = None,
    by: ByOption = None,
) -> None:
    """Make an API token and print it once (on standard output); only its hash is kept."""
    if (source is None) == (user is None):
        raise typer.BadParameter("give exactly one of --source or --user")
    kind, owner = ("source", source) if source is not None else ("user", user)
    with _ops(db, config, ops_url) as ops:
        made = token_cases.create_token(
            ops, kind=kind, owner=owner or "", actor=by or local_actor()
        )
    err.print(
        f"token {made.info.token_id} for {kind} {shown(owner)}: shown this once, store it now"
    )
    sys.stdout.write(made.token + "\n")


@tokens_app.command("list")
def tokens_list(
    include_revoked: Annotated[bool, typer.Option("--all", help="Revoked tokens too.")] = False,
    db: DbOption = None,
    config: ConfigOption = None,
    ops_url: OpsUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Tokens (their first characters, never the whole token) and when each was last used."""
    with _ops(db, config, ops_url) as ops:
        found = token_cases.list_tokens(ops, include_revoked=include_revoked)
    columns = ("id", "kind", "owner", "starts with", "created", "last used", "revoked")
    _listing(found, as_json, f"{len(found)} token(s)", columns, lambda t: (
        str(t.token_id), t.kind, shown(t.owner), t.prefix, f"{t.created_at:%Y-%m-%d %H:%M}",
        f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never",
        f"{t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else ""))  # fmt: skip


@tokens_app.command("revoke")
def tokens_revoke(
    token_id: Annotated[int, typer.Argument(help="The token's id (from `tokens list`).")],
    why: WhyOption = "",
    db: DbOption = None,
    config: ConfigOption = None,
    ops_url: OpsUrlOption = None,
    by: ByOption = None,
) -> None:
    """Revoke a token: it stops working at once."""
    with _ops(db, config, ops_url) as ops:
        done = token_cases.revoke_token(ops, token_id, actor=by or local_actor(), why=why)
    out.print(f"token {done.token_id} ({done.kind} {shown(done.owner)}) revoked")


# --- users ------------------------------------------------------------------------------


def _password() -> str:
    if sys.stdin.isatty():
        return typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\r\n")


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option("--role", help=f"One of {', '.join(ROLES)}.")],
    db: DbOption = None,
    config: ConfigOption = None,
    ops_url: OpsUrlOption = None,
    by: ByOption = None,
) -> None:
    """Add a user; the password is read from standard input (its first line)."""
    password = _password()
    with _ops(db, config, ops_url) as ops:
        added = user_cases.add_user(ops, name, role, password, actor=by or local_actor())
    out.print(f"user {shown(added.name)} added ({added.role})")


@users_app.command("list")
def users_list(
    db: DbOption = None,
    config: ConfigOption = None,
    ops_url: OpsUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Users, their roles and whether they are active."""
    with _ops(db, config, ops_url) as ops:
        found = user_cases.list_users(ops)
    _listing(found, as_json, f"{len(found)} user(s)", ("name", "role", "created", "disabled"),
             lambda u: (shown(u.name), u.role, f"{u.created_at:%Y-%m-%d %H:%M}",
                        f"{u.disabled_at:%Y-%m-%d %H:%M}" if u.disabled_at else ""))  # fmt: skip


@users_app.command("disable")
def users_disable(
    name: Annotated[str, typer.Argument(help="Login name.")],
    why: WhyOption = "",
    db: DbOption = None,
    config: ConfigOption = None,
    ops_url: OpsUrlOption = None,
    by: ByOption = None,
) -> None:
    """Disable a user: no more logins, and the user's tokens stop working."""
    with _ops(db, config, ops_url) as ops:
        done = user_cases.disable_user(ops, name, actor=by or local_actor(), why=why)
    out.print(f"user {shown(done.name)} disabled")


# --- audit ------------------------------------------------------------------------------


@audit_app.command("verify")
def audit_verify(
    db: DbOption = None,
    config: ConfigOption = None,
    ops_url: OpsUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check the audit log's hash chain end to end; exit 1 if any entry was changed,
    removed or reordered. Keep the printed head: it also proves nothing was cut off."""
    with _ops(db, config, ops_url) as ops:
        result = verify_audit(ops)
    if as_json:
        print_json({**msgspec.to_builtins(result), "ok": result.ok})
    else:
        for problem in result.problems:
            err.print(f"[bold red]entry {problem.seq}[/]: {problem.reason}")
        verdict = "intact" if result.ok else f"{len(result.problems)} problem(s)"
        out.print(f"{result.entries:,} entries, {verdict}; head {result.head}")
    if not result.ok:
        raise typer.Exit(1)


@audit_app.command("list")
def audit_list(
    actor: Annotated[
        str | None, typer.Option(help="Only entries by this actor.", show_default=False)
    ] = None,
    subject: Annotated[
        str | None,
        typer.Option(
            help="Only entries about this id (employee, alert, user...).", show_default=False
        ),
    ] = None,
    action: Annotated[
        str | None, typer.Option(help="Only this action (e.g. employee.read).", show_default=False)
    ] = None,
    limit: Annotated[int, typer.Option(help="Entries to show, newest first.")] = 50,
    db: DbOption = None,
    config: ConfigOption = None,
    ops_url: OpsUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Who read or changed what, when and why, newest first."""
    with _ops(db, config, ops_url) as ops:
        found = audit_entries(ops, actor=actor, subject_id=subject, action=action, limit=limit)
    if as_json:
        _json(found)
        return
    table = Table(title=f"{len(found)} entr{'y' if len(found) == 1 else 'ies'}")
    for col in ("seq", "when", "actor", "action", "subject", "why"):
        table.add_column(col, justify="right" if col == "seq" else "left")
    for e in found:
        table.add_row(str(e.seq), f"{e.at:%Y-%m-%d %H:%M:%S}", shown(e.actor), e.action,
                      shown(f"{e.subject_kind} {e.subject_id}"), shown(e.why))  # fmt: skip
    out.print(table)
