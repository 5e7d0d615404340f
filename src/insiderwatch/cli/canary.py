"""The canary commands: plan decoy customers that identify whoever leaks them."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.markup import escape

from insiderwatch.app.keys import existing_key
from insiderwatch.canary.decoys import check_domain, parse_phone_range
from insiderwatch.canary.plan import export_plan, make_plan
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
from insiderwatch.store import open_store

canary_app = typer.Typer(
    help="Canary customers as watermarks: decoys that name whoever leaks them.",
    no_args_is_help=True,
)
app.add_typer(canary_app, name="canary")


@canary_app.command("plan")
def plan(
    count: Annotated[int, typer.Option(min=1, help="Decoys to create (at most).")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the plan files.")],
    email_domain: Annotated[
        str, typer.Option(help="A mail domain the company controls and monitors.")
    ] = "inbox.example",
    phone_range: Annotated[
        str, typer.Option(help="FIRST:LAST of a number block the company controls and monitors.")
    ] = "+447700900000:+447700900999",
    plant_at: Annotated[
        str | None, typer.Option(help="When the decoys go live (ISO 8601) [default: now].")
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Random seed (tests only: a plan must be unguessable).")
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create decoy customers, each shown to a chosen set of staff, so that the canaries
    found in a leak name the leaker(s), even two acting together.

    Writes plan.csv and plan.json (which decoy to show to whom) and dataset/ (the decoys
    as contract rows for `insiderwatch ingest`), and keeps the plan's hashes in the store
    for `insiderwatch attribute`.
    """
    settings = settings_for(db, config)
    now = datetime.now(UTC)
    planted_at = parse_when(plant_at, "--plant-at") or now
    rng = np.random.default_rng(secrets.randbits(128) if seed is None else seed)
    try:
        domain = check_domain(email_domain)
        numbers = parse_phone_range(phone_range, settings.phone_region)
        with open_store(settings, create=False) as store:
            key = existing_key(settings, store)
            made = make_plan(
                store,
                key,
                count,
                domain=domain,
                phone_range=numbers,
                planted_at=planted_at,
                created_at=now,
                rng=rng,
            )
        files = export_plan(made, out_dir)
    except InsiderwatchError as exc:
        raise fail(exc) from None
    code = made.code
    summary = {
        "plan_id": made.plan_id,
        "canaries": code.canaries,
        "staff": len(code.lines),
        "canaries_per_employee": code.positions,
        "max_staff_per_canary": code.q,
        "planted_at": made.planted_at.isoformat(),
        "files": [str(f) for f in files],
    }
    if as_json:
        print_json(summary)
        return
    out.print(
        f"{made.plan_id}: {code.canaries:,} decoys for {len(code.lines):,} staff; each "
        f"employee is shown {code.positions} of them and each decoy at most {code.q} staff. "
        "Two found canaries name a single leaker; five name one of two colluders.",
        highlight=False,
    )
    for f in files:
        err.print(escape(f"wrote {f}"))
    err.print(
        escape(
            f"next: plant the decoys as plan.csv says, `insiderwatch ingest {files[2].parent}`, "
            "and forward mail and calls for them to the security team (docs/attribution.md)"
        )
    )
