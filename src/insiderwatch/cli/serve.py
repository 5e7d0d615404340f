"""``insiderwatch serve``: the HTTP collector, live detection and the API."""

from __future__ import annotations

from typing import Annotated

import typer

from insiderwatch.cli.app import ConfigOption, DbOption, app, err, fail, settings_for
from insiderwatch.errors import InsiderwatchError


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option("--host", help="Address to listen on (setting host).")
    ] = None,
    port: Annotated[
        int | None, typer.Option("--port", help="Port to listen on (setting port).")
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Collect events over HTTP, detect live and serve alerts (see docs/serve.md)."""
    from insiderwatch.web.server import serve as run  # the web stack loads only here

    settings = settings_for(db, config, host=host, port=port)
    err.print(f"insiderwatch serving {settings.db} on http://{settings.host}:{settings.port}")
    try:
        run(settings)
    except InsiderwatchError as exc:
        raise fail(exc) from None
