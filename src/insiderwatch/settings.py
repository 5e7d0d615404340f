"""The settings registry: every setting has a name, a default and help, in one place.

Precedence is flag > environment (``INSIDERWATCH_<NAME>``) > config file > default. The
config file is TOML: ``--config PATH``, else ``$INSIDERWATCH_CONFIG``, else
``insiderwatch.toml`` in the working directory when present. ``docs/settings.md`` and the
``insiderwatch settings`` command are generated from this registry.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from insiderwatch.errors import ConfigError

# Monitoring and tooling that read database tables on their own behalf, not a person's.
DEFAULT_INTERNAL_APPS = (
    "insiderwatch",
    "pg_stat_monitor",
    "pgwatch",
    "pganalyze",
    "postgres_exporter",
    "mysqld_exporter",
    "datadog-agent",
    "check_postgres",
)


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    parse: Callable[[str], Any] = str
    secret: bool = False  # never printed

    @property
    def env_var(self) -> str:
        return f"INSIDERWATCH_{self.name.upper()}"


def _bool(value: str) -> bool:
    low = str(value).strip().lower()
    if low in {"1", "true", "yes", "on"}:
        return True
    if low in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean: {value!r}")


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError("must be >= 0")
    return number


def _positive_float(value: str) -> float:
    number = float(value)
    if not number >= 0:  # also refuses nan
        raise ValueError("must be >= 0")
    return number


def _seconds(value: str) -> float:
    number = float(value)
    if not number > 0:
        raise ValueError("must be a number of seconds > 0")
    return number


def _hours(value: str) -> float:
    number = float(value)
    if not 0 < number <= 24 * 366:  # also refuses nan and inf
        raise ValueError("must be a number of hours > 0 (at most a year)")
    return number


def _above_zero(value: str) -> float:
    number = float(value)
    if not number > 0:
        raise ValueError("must be a number > 0")
    return number


def _at_least_one(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError("must be >= 1")
    return number


def _seconds_up_to(limit: float) -> Callable[[str], float]:
    """A parser of a number of seconds from 0 to ``limit``."""

    def parse(value: str) -> float:
        number = float(value)
        if not 0 <= number <= limit:  # also refuses nan and inf
            raise ValueError(f"must be a number of seconds from 0 to {limit:g}")
        return number

    return parse


def _iso_date(value: str) -> str:
    return date.fromisoformat(str(value).strip()).isoformat()


def _default_secret_file(name: str = "hash.key") -> str:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "insiderwatch", name)


SETTINGS: tuple[Setting, ...] = (
    Setting("db", "insiderwatch.duckdb", "Path of the DuckDB analytics store."),
    Setting(
        "ops_url",
        None,
        "SQLAlchemy URL of the operational store (triage, cases, users, tokens, audit log, "
        "containment, deliveries): "
        "sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST/DB. Default: a SQLite "
        "file beside the analytics store (x.duckdb -> x.ops.sqlite).",
        secret=True,
    ),
    Setting(
        "rules_config",
        None,
        "Detection settings (TOML): explanations, destinations, risk, suppressions "
        "(the --rules-config of the detection commands).",
    ),
    Setting(
        "secret_file",
        None,
        "File holding the per-deployment key for hashing customer emails and phones. Created "
        "on first use (mode 0600). Keep it outside the database and its backups. "
        "Default: $XDG_CONFIG_HOME/insiderwatch/hash.key.",
    ),
    Setting(
        "hash_key",
        None,
        "The hashing key itself, as hex (e.g. from a secrets manager); overrides secret_file.",
        secret=True,
    ),
    Setting(
        "evidence_key_file",
        None,
        "Ed25519 private key (PEM) that signs the evidence log's tree heads and bundles, "
        "made by `insiderwatch evidence keygen` (mode 0600); its public half is KEY.pub. "
        "Keep it outside the store. Default: $XDG_CONFIG_HOME/insiderwatch/evidence.key.",
    ),
    Setting(
        "phone_region",
        "GB",
        "Region (ISO 3166 alpha-2) for phone numbers written without a country code.",
        lambda v: v.strip().upper(),
    ),
    Setting(
        "memory_limit",
        "1GB",
        "Memory the store engine may use before spilling to disk (DuckDB syntax, e.g. 2GB).",
    ),
    Setting("threads", 0, "Worker threads for the store engine; 0 = all cores.", _positive_int),
    Setting(
        "batch_rows",
        500_000,
        "Rows per batch when streaming CSV and JSON Lines files into the store.",
        _positive_int,
    ),
    Setting(
        "max_line_bytes",
        16 << 20,
        "Lines longer than this (bytes) are dead letters line:too_long; they are skipped as "
        "they stream past, never held in memory whole.",
        _positive_int,
    ),
    Setting(
        "time_earliest",
        "1990-01-01",
        "Event times before this UTC day are rejected as time:out_of_range (a year-0 or "
        "1970 time is a broken clock or a forged line, and would make detection replay "
        "decades day by day).",
        _iso_date,
    ),
    Setting(
        "time_days_ahead",
        2,
        "Event times more than this many days after the ingest are rejected as "
        "time:out_of_range (clock skew is hours, not days).",
        _positive_int,
    ),
    Setting(
        "identity_map",
        None,
        "CSV file (columns identity, employee_id) naming the employee behind each log "
        "identity: database role, app user name. Unmapped identities are kept as their own.",
    ),
    Setting(
        "sql_map",
        None,
        "YAML file naming which database tables and columns hold customer data and what "
        "kind (see docs/sources.md); without it, table and column names are guessed.",
    ),
    Setting(
        "outside_sources",
        None,
        "YAML file of partners and processors and the customers each holds (a query or a "
        "CSV of customer ids), weighed beside the staff by attribute (see docs/attribution.md).",
    ),
    Setting(
        "internal_apps",
        ",".join(DEFAULT_INTERNAL_APPS),
        "Application names (comma-separated) whose database reads are monitoring, not staff.",
    ),
    Setting(
        "unmask_hours",
        24.0,
        "Hours an approved unmasking shows a member of staff to its requester before they "
        "are masked again (an approver may choose another duration).",
        _hours,
    ),
    Setting(
        "respond_config",
        None,
        "YAML response file: alert sinks, routes, the SCIM and session targets and the "
        "containment playbooks (see docs/respond.md). Without it nothing is sent.",
    ),
    Setting(
        "pg_log_line_prefix",
        "%m [%p] %q%u@%d ",
        "The PostgreSQL log_line_prefix of stderr logs read with --source pgaudit.",
    ),
    Setting(
        "mariadb_timestamp_format",
        "%Y%m%d %H:%i:%s",
        "The server_audit_timestamp_format of MariaDB audit logs (DATE_FORMAT "
        "specifiers, as set on the server) read with --source mariadb-audit.",
    ),
    Setting("host", "127.0.0.1", "Address `insiderwatch serve` listens on."),
    Setting("port", 8730, "Port `insiderwatch serve` listens on.", _positive_int),
    Setting(
        "max_request_bytes",
        8 << 20,
        "Largest request body `POST /v1/events` accepts, in bytes, before and after gzip "
        "(a larger one gets 413).",
        _positive_int,
    ),
    Setting(
        "writer_queue",
        64,
        "Requests waiting for the store's single writer; when full, collectors get 503 with "
        "Retry-After (back-pressure) instead of the server buffering without bound.",
        _positive_int,
    ),
    Setting(
        "coalesce_rows",
        50_000,
        "The writer loads queued requests of one source and table together, up to this many "
        "lines, as one batch (one segment instead of one per request).",
        _positive_int,
    ),
    Setting(
        "detect_interval_seconds",
        0.5,
        "Live detection steps this long after the first new event (but no sooner than the "
        "last step took, after it ended).",
        _positive_float,
    ),
    Setting(
        "detect_after_events",
        20_000,
        "Live detection also steps as soon as this many new events have been loaded.",
        _positive_int,
    ),
    Setting(
        "stop_writer_grace_seconds",
        300.0,
        "How long a stop of `insiderwatch serve` waits for the writer's last work (the queued "
        "loads, the last detection, publishing) before it leaves the store open; no new "
        "detection step starts after half of it (0 to 3600).",
        _seconds_up_to(3600),
    ),
    Setting(
        "stop_reader_grace_seconds",
        10.0,
        "How long a stop then waits for requests still reading before it interrupts their "
        "queries (0 to 600).",
        _seconds_up_to(600),
    ),
    Setting(
        "compact_min_segments",
        16,
        "The writer merges event segments smaller than a quarter of batch_rows once this "
        "many of one size tier have accumulated (each HTTP batch writes one); also "
        "`insiderwatch store compact`'s default.",
        _positive_int,
    ),
    Setting(
        "alerts_out",
        None,
        "File the server appends each new alert history line to (JSON Lines), once per "
        "line even across restarts.",
    ),
    Setting(
        "nats_url",
        None,
        "NATS server(s) the JetStream collector consumes from (e.g. nats://127.0.0.1:4222, "
        "comma-separated for a cluster); unset: no NATS collector.",
    ),
    Setting(
        "nats_stream",
        "INSIDERWATCH",
        "JetStream stream holding the events (created when missing, over <nats_subject_prefix>.>).",
    ),
    Setting(
        "nats_durable",
        "insiderwatch",
        "Name of the durable pull consumer: a restart resumes where it stopped.",
    ),
    Setting(
        "nats_subject_prefix",
        "insiderwatch.events",
        "Events of source NAME are published on <prefix>.NAME, one contract access "
        "record (JSON) per message.",
    ),
    Setting(
        "nats_dead_prefix",
        "insiderwatch.dead",
        "Messages that still fail to commit after nats_max_deliver tries are republished on "
        "<prefix>.NAME (kept in the stream <nats_stream>_DEAD) and recorded as dead letters.",
    ),
    Setting(
        "nats_batch",
        5000,
        "Messages fetched and committed together (one transaction, then one ack each).",
        _at_least_one,
    ),
    Setting(
        "nats_max_deliver",
        5,
        "Deliveries of a message before it is moved to the dead subject.",
        _at_least_one,
    ),
    Setting(
        "nats_ack_wait",
        30.0,
        "Seconds the server waits for an ack before redelivering a message.",
        _seconds,
    ),
    Setting(
        "tail_sources",
        None,
        "YAML file listing the logs to tail continuously (kind, paths or globs, mapping; see "
        "docs/sources.md); unset: no tailing.",
    ),
    Setting(
        "console_secure_cookies",
        True,
        "Console cookies carry Secure (sent over HTTPS only). Turn off only to try the "
        "console over plain http on localhost.",
        _bool,
    ),
    Setting(
        "console_session_hours",
        8.0,
        "A console login lasts at most this long, however active.",
        _above_zero,
    ),
    Setting(
        "console_idle_minutes",
        30.0,
        "A console session unused this long ends.",
        _above_zero,
    ),
    Setting(
        "console_login_attempts",
        5,
        "Failed console logins allowed per account name within console_lockout_minutes; "
        "then that account is refused until the window has passed.",
        _at_least_one,
    ),
    Setting(
        "console_address_attempts",
        20,
        "Failed console logins allowed per client address within console_lockout_minutes.",
        _at_least_one,
    ),
    Setting(
        "console_lockout_minutes",
        15.0,
        "The window over which failed console logins are counted.",
        _above_zero,
    ),
    Setting(
        "console_noisy_alerts",
        20,
        "The console's alert queue shows a set of detectors as one grouped row once it has "
        "this many new low or medium alerts (high and critical ones are never grouped); 0 "
        "never groups.",
        _positive_int,
    ),
    Setting(
        "tail_interval",
        1.0,
        "Seconds between two looks at the tailed logs for new lines and rotated files.",
        _seconds,
    ),
)

REGISTRY: dict[str, Setting] = {s.name: s for s in SETTINGS}


class Settings(Mapping[str, Any]):
    """Resolved settings; read as attributes (``settings.db``) or items."""

    def __init__(self, values: dict[str, Any], sources: dict[str, str]) -> None:
        self._values = values
        self._sources = sources

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def source(self, name: str) -> str:
        """Where the value came from: flag, env, file or default."""
        return self._sources[name]

    @property
    def secret_path(self) -> Path:
        return Path(self._values["secret_file"] or _default_secret_file()).expanduser()

    @property
    def evidence_key_path(self) -> Path:
        default = _default_secret_file("evidence.key")
        return Path(self._values["evidence_key_file"] or default).expanduser()


def _config_file(explicit: str | Path | None, environ: Mapping[str, str]) -> Path | None:
    if explicit:
        return Path(explicit)
    if env := environ.get("INSIDERWATCH_CONFIG"):
        return Path(env)
    local = Path("insiderwatch.toml")
    return local if local.exists() else None


def _read_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    # Settings may sit at the top level or under [insiderwatch].
    return dict(data.get("insiderwatch", data))


def load_settings(
    flags: Mapping[str, Any] | None = None,
    config_file: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve every setting; unknown names and bad values fail here, at start-up."""
    environ = os.environ if environ is None else environ
    path = _config_file(config_file, environ)
    from_file = _read_file(path) if path else {}
    unknown = sorted(set(from_file) - set(REGISTRY))
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s): {', '.join(unknown)}")
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for setting in SETTINGS:
        flag = (flags or {}).get(setting.name)
        if flag is not None:
            raw, source = flag, "flag"
        elif setting.env_var in environ:
            raw, source = environ[setting.env_var], "env"
        elif setting.name in from_file:
            raw, source = from_file[setting.name], f"file {path}"
        else:
            values[setting.name], sources[setting.name] = setting.default, "default"
            continue
        try:
            values[setting.name] = setting.parse(str(raw)) if raw is not None else None
        except ValueError as exc:
            raise ConfigError(f"setting {setting.name} (from {source}): {exc}") from None
        sources[setting.name] = source
    return Settings(values, sources)
