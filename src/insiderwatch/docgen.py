"""Reference documentation generated from the code itself.

``docs/contract.md``, ``docs/settings.md``, ``docs/cli.md``, ``docs/detections.md`` (the
detectors and the explanation reasons) and ``docs/console.md`` hold
generated sections
between ``<!-- generated:NAME -->`` markers; ``python tools/gen_docs.py`` rewrites them and
a test fails when they are stale, so the docs cannot drift from the contract, the
settings registry or the real ``--help``.
"""

from __future__ import annotations

import re
from pathlib import Path

from insiderwatch.contract import LOAD_ORDER, TABLES
from insiderwatch.settings import SETTINGS

_TYPE_NAMES = {
    "str": "str",
    "int": "int",
    "bool": "bool",
    "date": "date (YYYY-MM-DD)",
    "timestamp": "timestamp (ISO 8601, UTC)",
    "list": "list[str] (CSV: `;`-separated)",
}


def contract_tables() -> str:
    parts = []
    for name in LOAD_ORDER:
        spec = TABLES[name]
        parts.append(f"### `{name}`\n\n{spec.doc} Key: `{', '.join(spec.key)}`.\n")
        parts.append("| column | type | required | allowed / format | meaning |")
        parts.append("|---|---|---|---|---|")
        for col in spec.columns:
            allowed = ""
            if col.choices:
                allowed = ", ".join(f"`{c}`" for c in col.choices)
            elif col.pattern:
                allowed = f"`{col.pattern}`"
            elif col.min_value is not None:
                allowed = f">= {col.min_value}"
            meaning = col.doc + (
                f" Stored only as `{col.stored_name}` (keyed hash)." if col.pii else ""
            )
            parts.append(
                f"| {col.name} | {_TYPE_NAMES[col.kind]} | {'yes' if col.required else ''} "
                f"| {allowed} | {meaning} |"
            )
        parts.append("")
    return "\n".join(parts).strip() + "\n"


def _json_type(prop: dict) -> str:
    if "anyOf" in prop:
        return " or ".join(_json_type(p) for p in prop["anyOf"])
    if "enum" in prop:
        return " / ".join(f"`{v}`" for v in prop["enum"])
    if prop.get("type") == "array":
        return f"list[{_json_type(prop.get('items', {}))}]"
    return prop.get("format", prop.get("type", "object"))


def output_records() -> str:
    """The fields of the records detection writes, from their JSON Schema."""
    import msgspec

    from insiderwatch.contract import Alert, Finding

    parts = []
    for record in (Finding, Alert):
        (schema,) = msgspec.json.schema_components([record])[1].values()
        doc = " ".join((record.__doc__ or "").split())
        parts += [
            f"### `{record.__name__}`\n\n{doc}\n",
            "| field | type | required | meaning |",
            "|---|---|---|---|",
        ]
        for name, prop in schema["properties"].items():
            required = "yes" if name in schema.get("required", []) else ""
            parts.append(
                f"| {name} | {_json_type(prop)} | {required} | {prop.get('description', '')} |"
            )
        parts.append("")
    return "\n".join(parts).strip() + "\n"


def settings_table() -> str:
    rows = ["| setting | environment | default | meaning |", "|---|---|---|---|"]
    for s in SETTINGS:
        default = "" if s.default is None else f"`{s.default}`"
        rows.append(f"| `{s.name}` | `{s.env_var}` | {default} | {s.help} |")
    return "\n".join(rows) + "\n"


def cli_reference() -> str:
    """The real --help of every command, as the user sees it (100 columns, no colour)."""
    import typer.main
    from typer.testing import CliRunner

    from insiderwatch.cli import app

    env = {"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"}
    runner = CliRunner()
    parts = ["```text\n" + _plain(runner.invoke(app, ["--help"], env=env).output) + "\n```\n"]
    for name, command in typer.main.get_command(app).commands.items():
        # A group's sub-commands (`canary plan`) get their own section after the group.
        for path in [[name]] + [[name, sub] for sub in getattr(command, "commands", {})]:
            text = _plain(runner.invoke(app, [*path, "--help"], env=env).output)
            parts.append(f"### `insiderwatch {' '.join(path)}`\n\n```text\n{text}\n```\n")
    return "\n".join(parts)


# What a detector's scope means for a live step (detect/scope.py).
_SCOPES = {
    "employee": "`employee`: a finding comes from the employee's own events; a live step "
    "evaluates it for the employees with new events.",
    "company": "`company`: a finding can come from other staff's events; every live step "
    "recomputes its findings of the day.",
}


def detection_catalogue() -> str:
    """Every detector and built-in rule, from its own metadata and config model."""

    from insiderwatch.detect import DetectionConfig, active_detectors
    from insiderwatch.detect.catalog import content_version

    parts = []
    for det in active_detectors(DetectionConfig()):
        version = content_version(det, DetectionConfig())
        parts.append(f"### `{det.id}` (version `{version}`): {det.title}\n")
        parts.append(f"**What it catches.** {det.description}\n")
        parts.append(f"**Why it matters.** {det.why}\n")
        parts.append(f"**False positives.** {det.false_positives}\n")
        parts.append(f"**How to investigate.** {det.investigate}\n")
        parts.append(f"**Scope.** {_SCOPES[det.scope]}\n")
        if settings := _settings_with_ranges(det.Config):
            parts.append(f"Settings (`[detectors.{det.id}]`): {settings}\n")
    return "\n".join(parts)


def _settings_with_ranges(config: type) -> str:
    """A detector's settings as ``name = default`` with the range each number must be in
    (:mod:`~insiderwatch.detect.ranges`, checked when the configuration loads)."""
    import msgspec
    import msgspec.inspect as mi

    from insiderwatch.detect.ranges import describe, numeric_types

    defaults = msgspec.to_builtins(config())
    ranges = {
        path.replace("[]", ""): ("each " if path.endswith("[]") else "") + describe(t)
        for path, t in numeric_types(mi.type_info(config))
    }
    return "; ".join(
        f"`{f.name} = {defaults[f.name]!r}` {ranges.get(f.name, '')}".rstrip()
        for f in msgspec.structs.fields(config)
    )


def reason_catalogue() -> str:
    """Every reason an access can be explained by, from the reason registry."""
    from insiderwatch.detect.reasons import REASONS

    rows = ["| reason | title | what it means | evidence |", "|---|---|---|---|"]
    for name, r in REASONS:
        shown = f"`{name}ROLE`, `{name}ROLE@APP`" if r.family else f"`{name}`"
        rows.append(f"| {shown} | {r.title} | {r.meaning} | {r.evidence} |")
    return "\n".join(rows) + "\n"


def console_roles() -> str:
    """The console's role matrix, read from the page registry (what the tests enforce)."""
    from insiderwatch.contract.workflow import ROLES
    from insiderwatch.web.console.registry import all_routes

    head = "| route | " + " | ".join(r.replace("_", " ") for r in ROLES) + " |"
    rows = [head, "|---|" + "---|" * len(ROLES)]
    for route in sorted(all_routes(), key=lambda r: (r.path, r.method)):
        marks = " | ".join(
            "anyone" if route.public else ("yes" if role in route.roles else "") for role in ROLES
        )
        rows.append(f"| `{route.method} {route.path}` | {marks} |")
    return "\n".join(rows) + "\n"


def _plain(text: str) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


GENERATORS = {
    "docs/contract.md": {"tables": contract_tables, "outputs": output_records},
    "docs/settings.md": {"settings": settings_table},
    "docs/cli.md": {"commands": cli_reference},
    "docs/detections.md": {"reasons": reason_catalogue, "catalogue": detection_catalogue},
    "docs/console.md": {"roles": console_roles},
}


def render(path: Path, sections: dict) -> str:
    text = path.read_text()
    for name, make in sections.items():
        pattern = re.compile(
            rf"(<!-- generated:{name} -->\n).*?(<!-- /generated:{name} -->)", re.DOTALL
        )
        if not pattern.search(text):
            raise ValueError(f"{path}: missing <!-- generated:{name} --> markers")
        text = pattern.sub(lambda m, make=make: m.group(1) + make() + m.group(2), text)
    return text


def stale(root: Path) -> list[str]:
    """Docs whose generated sections differ from what the code says now."""
    return [
        rel
        for rel, sections in GENERATORS.items()
        if (root / rel).read_text() != render(root / rel, sections)
    ]


def write_all(root: Path) -> list[str]:
    changed = []
    for rel, sections in GENERATORS.items():
        path = root / rel
        new = render(path, sections)
        if new != path.read_text():
            path.write_text(new)
            changed.append(rel)
    return changed
