"""The Jinja2 environment of every report: package templates, and a company's own folder
searched first so that it can replace any of them by name."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import jinja2


def environment(templates_dir: Path | None = None) -> jinja2.Environment:
    loaders: list[jinja2.BaseLoader] = [jinja2.PackageLoader("insiderwatch.report", "templates")]
    if templates_dir is not None:
        loaders.insert(0, jinja2.FileSystemLoader(templates_dir))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        # HTML is escaped (names and files come from outside); plain-text notices are not.
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2")),
        # A missing variable is an error, never a silent blank in a legal notice.
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["when"] = _when
    return env


def _when(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")
