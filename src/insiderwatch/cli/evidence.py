"""The evidence commands: a signed, append-only log of every event, and sealed bundles
that a court can verify offline with the public key alone."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import msgspec
import typer
from rich.markup import escape

from insiderwatch.cli.app import (
    ConfigOption,
    DbOption,
    JsonOption,
    app,
    err,
    fail,
    out,
    parse_when,
    print_json,
    settings_for,
)
from insiderwatch.errors import InsiderwatchError
from insiderwatch.report.evidence.audit import audit_store
from insiderwatch.report.evidence.bundle import ExportRequest, export_bundle
from insiderwatch.report.evidence.consistency import prove_consistency, verify_consistency
from insiderwatch.report.evidence.records import Complaint, ConsistencyProof
from insiderwatch.report.evidence.sth import (
    generate_key,
    load_public_key,
    load_signing_key,
    seal_log,
    sign_current,
)
from insiderwatch.report.evidence.verify import verify_bundle
from insiderwatch.store import open_store

evidence_app = typer.Typer(
    help="Sealed evidence: a signed Merkle log of every event, bundles verifiable offline.",
    no_args_is_help=True,
)
app.add_typer(evidence_app, name="evidence")

KeyOption = Annotated[
    Path | None,
    typer.Option(
        "--key", help="Private signing key [setting evidence_key_file].", show_default=False
    ),
]
PublicKeyOption = Annotated[
    Path | None,
    typer.Option(
        "--public-key",
        help="The public key you trust (default: the copy inside the bundle, which only "
        "shows the bundle is self-consistent).",
        show_default=False,
    ),
]


def _print_complaints(complaints: list[Complaint], ok: str) -> None:
    if not complaints:
        out.print(f"[green]OK[/] {escape(ok)}")
        return
    for complaint in complaints:
        out.print(f"[red]{complaint.kind}[/] {escape(str(complaint))}", highlight=False)


@evidence_app.command("keygen")
def keygen(key: KeyOption = None, config: ConfigOption = None) -> None:
    """Create the Ed25519 key that signs tree heads and bundles (private key mode 0600)."""
    settings = settings_for(None, config, evidence_key_file=key)
    try:
        public = generate_key(settings.evidence_key_path)
    except InsiderwatchError as exc:
        raise fail(exc) from None
    out.print(f"private key: {escape(str(settings.evidence_key_path))} (keep it off the store)")
    out.print(f"public key:  {escape(str(public))} (give it to whoever verifies bundles)")


@evidence_app.command("sign")
def sign(key: KeyOption = None, db: DbOption = None, config: ConfigOption = None) -> None:
    """Log any batches not yet logged and sign the current tree head."""
    settings = settings_for(db, config, evidence_key_file=key)
    try:
        signing = load_signing_key(settings.evidence_key_path)
        with open_store(settings, create=False) as store:
            seal_log(store, settings.evidence_key_path)
            head = sign_current(store, signing)
    except InsiderwatchError as exc:
        raise fail(exc) from None
    print_json(msgspec.to_builtins(head))


@evidence_app.command("export")
def export(
    employee: Annotated[str, typer.Option(help="Employee whose evidence to seal.")],
    out_dir: Annotated[Path, typer.Option("--out", help="New folder for the bundle.")],
    reason: Annotated[str, typer.Option(help="Why it is exported (kept in the custody record).")],
    by: Annotated[
        str | None, typer.Option(help="Who exports it [default: the login name].")
    ] = None,
    time_from: Annotated[str | None, typer.Option("--from", help="First event time (ISO).")] = None,
    time_to: Annotated[str | None, typer.Option("--to", help="Last event time (ISO).")] = None,
    key: KeyOption = None,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Write an employee's events, alerts, custody record and inclusion proofs as a
    signed bundle."""
    settings = settings_for(db, config, evidence_key_file=key)
    request = ExportRequest(
        employee_id=employee,
        reason=reason,
        exported_by=by or getpass.getuser(),
        time_from=parse_when(time_from, "--from"),
        time_to=parse_when(time_to, "--to"),
    )
    try:
        signing = load_signing_key(settings.evidence_key_path)
        if signing.warning:
            err.print(f"[yellow]warning:[/] {escape(signing.warning)}")
        with open_store(settings, create=False) as store:
            result = export_bundle(store, signing, request, out_dir)
    except InsiderwatchError as exc:
        raise fail(exc) from None
    if as_json:
        print_json(msgspec.to_builtins(result))
        return
    out.print(
        f"Sealed {result.events:,} events and {result.alerts:,} alerts of {escape(employee)} "
        f"in {escape(result.out)} against tree head {result.tree_size:,} "
        f"(root {result.root_hash[:16]}...)"
    )
    out.print(
        f"Verify with: insiderwatch evidence verify {escape(result.out)} --public-key KEY.pub"
    )


@evidence_app.command("verify")
def verify(
    bundle: Annotated[Path, typer.Argument(help="Bundle folder.", show_default=False)],
    public_key: PublicKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check a bundle offline: every altered, missing or added file and event is named.
    Exit 1 when anything is wrong."""
    try:
        report = verify_bundle(bundle, public_key)
    except InsiderwatchError as exc:
        raise fail(exc) from None
    if as_json:
        print_json({**msgspec.to_builtins(report), "ok": report.ok})
    else:
        _print_complaints(
            report.complaints,
            f"{report.events_checked:,} events proven against signed tree head "
            f"{report.tree_size:,}; every file matches the signed manifest",
        )
    if not report.ok:
        raise typer.Exit(1)


@evidence_app.command("prove-consistency")
def prove(
    from_size: Annotated[int, typer.Option(help="Size of the earlier signed tree head.")],
    to_size: Annotated[
        int | None, typer.Option(help="Size of the later head [default: the latest].")
    ] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write the proof here (default: stdout).")
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Prove the log was only appended to between two signed tree heads."""
    settings = settings_for(db, config)
    try:
        with open_store(settings, create=False, read_only=True) as store:
            proof = prove_consistency(store, from_size, to_size)
    except InsiderwatchError as exc:
        raise fail(exc) from None
    body = msgspec.json.format(msgspec.json.encode(proof), indent=2) + b"\n"
    if out_file is None:
        typer.echo(body.decode(), nl=False)
    else:
        out_file.write_bytes(body)
        err.print(
            f"proof {from_size:,} -> {proof.new.tree_size:,} written to {escape(str(out_file))}"
        )


@evidence_app.command("verify-consistency")
def verify_proof(
    proof_file: Annotated[Path, typer.Argument(help="File from prove-consistency.")],
    public_key: Annotated[Path, typer.Option("--public-key", help="The public key you trust.")],
) -> None:
    """Check a consistency proof offline; exit 1 unless the later log extends the earlier."""
    try:
        proof = msgspec.json.decode(proof_file.read_bytes(), type=ConsistencyProof)
        complaints = verify_consistency(proof, load_public_key(public_key))
    except (OSError, msgspec.DecodeError) as exc:
        raise fail(f"{proof_file}: {exc}") from None
    except InsiderwatchError as exc:
        raise fail(exc) from None
    _print_complaints(
        complaints,
        f"the log of size {proof.new.tree_size:,} extends the one of size {proof.old.tree_size:,}",
    )
    if complaints:
        raise typer.Exit(1)


@evidence_app.command("audit")
def audit(
    public_key: Annotated[
        Path | None,
        typer.Option("--public-key", help="Also check every stored head's signature."),
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check the store against its evidence log: events, leaves, subtrees, signed heads.
    Exit 1 when anything was altered."""
    settings = settings_for(db, config)
    try:
        key = load_public_key(public_key) if public_key else None
        with open_store(settings, create=False, read_only=True) as store:
            complaints = audit_store(store, key)
    except InsiderwatchError as exc:
        raise fail(exc) from None
    if as_json:
        print_json([msgspec.to_builtins(c) for c in complaints])
    else:
        _print_complaints(complaints, "every stored event matches the signed evidence log")
    if complaints:
        raise typer.Exit(1)
