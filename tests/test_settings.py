"""Settings: flag > environment > config file > default; bad input fails by name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from insiderwatch.errors import ConfigError
from insiderwatch.settings import REGISTRY, SETTINGS, load_settings


def _toml(path: Path, body: str) -> Path:
    path.write_text(body)
    return path


def test_defaults_when_nothing_is_set():
    resolved = load_settings(environ={})
    for setting in SETTINGS:
        assert resolved[setting.name] == setting.default
        assert resolved.source(setting.name) == "default"
    assert set(resolved) == set(REGISTRY)
    assert len(resolved) == len(SETTINGS)


@pytest.mark.parametrize(
    ("flag", "env", "file", "expected", "source"),
    [
        (3, "2", 1, 3, "flag"),
        (None, "2", 1, 2, "env"),
        (None, None, 1, 1, "file"),
        (None, None, None, REGISTRY["threads"].default, "default"),
        (3, None, 1, 3, "flag"),
        (3, "2", None, 3, "flag"),
    ],
)
def test_precedence(tmp_path, flag, env, file, expected, source):
    config = _toml(tmp_path / "c.toml", f"threads = {file}\n" if file is not None else "")
    environ = {"INSIDERWATCH_THREADS": env} if env is not None else {}
    resolved = load_settings({"threads": flag}, config_file=config, environ=environ)
    assert resolved.threads == expected
    assert resolved.source("threads").startswith(source)


def test_every_setting_reads_its_environment_variable(tmp_path):
    values = {
        "db": "x.duckdb",
        "secret_file": str(tmp_path / "k"),
        "hash_key": "ab" * 16,
        "phone_region": "fr",
        "memory_limit": "2GB",
        "threads": "4",
        "batch_rows": "1000",
        "identity_map": "roles.csv",
        "sql_map": "tables.yaml",
        "outside_sources": "outside.yaml",
        "internal_apps": "pgwatch",
        "pg_log_line_prefix": "%m [%p] ",
        "mariadb_timestamp_format": "%Y-%m-%d %H:%i:%s",
        "evidence_key_file": str(tmp_path / "evidence.key"),
        "time_earliest": "2001-02-03",
        "max_line_bytes": "4096",
        "time_days_ahead": "7",
        "host": "0.0.0.0",
        "port": "9000",
        "max_request_bytes": "1024",
        "writer_queue": "8",
        "coalesce_rows": "100",
        "detect_interval_seconds": "0.5",
        "detect_after_events": "10",
        "stop_writer_grace_seconds": "45",
        "stop_reader_grace_seconds": "2.5",
        "compact_min_segments": "4",
        "nats_url": "nats://127.0.0.1:4333",
        "nats_stream": "EVENTS",
        "nats_durable": "iw",
        "nats_subject_prefix": "iw.in",
        "nats_dead_prefix": "iw.dead",
        "nats_batch": "50",
        "nats_max_deliver": "3",
        "nats_ack_wait": "2.5",
        "tail_sources": "tail.yaml",
        "tail_interval": "0.5",
        "ops_url": "postgresql+psycopg://iw@127.0.0.1/ops",
        "respond_config": "respond.yaml",
        "rules_config": "rules.toml",
        "alerts_out": "alerts.jsonl",
        "console_secure_cookies": "false",
        "console_session_hours": "2.5",
        "console_idle_minutes": "10",
        "console_login_attempts": "3",
        "console_address_attempts": "9",
        "console_lockout_minutes": "5",
        "unmask_hours": "1.5",
        "console_noisy_alerts": "7",
    }
    assert set(values) == set(REGISTRY), "a new setting needs a value here"
    environ = {REGISTRY[name].env_var: value for name, value in values.items()}
    resolved = load_settings(environ=environ)
    assert resolved.phone_region == "FR"
    assert resolved.threads == 4 and resolved.batch_rows == 1000
    assert (resolved.time_earliest, resolved.time_days_ahead) == ("2001-02-03", 7)
    assert (resolved.nats_batch, resolved.nats_ack_wait, resolved.tail_interval) == (50, 2.5, 0.5)
    assert resolved.console_secure_cookies is False and resolved.console_session_hours == 2.5
    assert (resolved.console_login_attempts, resolved.console_address_attempts) == (3, 9)
    assert resolved.secret_path == tmp_path / "k"
    assert resolved.evidence_key_path == tmp_path / "evidence.key"
    assert (resolved.port, resolved.detect_interval_seconds) == (9000, 0.5)
    assert resolved.unmask_hours == 1.5
    assert (resolved.stop_writer_grace_seconds, resolved.stop_reader_grace_seconds) == (45, 2.5)
    assert all(resolved.source(name) == "env" for name in values)


@pytest.mark.parametrize("layout", ["top", "section"])
def test_config_file_top_level_or_section(tmp_path, layout):
    body = 'db = "from-file.duckdb"\nphone_region = "us"\n'
    if layout == "section":
        body = "[insiderwatch]\n" + body
    resolved = load_settings(config_file=_toml(tmp_path / "c.toml", body), environ={})
    assert resolved.db == "from-file.duckdb"
    assert resolved.phone_region == "US"
    assert "c.toml" in resolved.source("db")


def test_config_file_from_working_directory_environment_or_flag(tmp_path, monkeypatch):
    # The autouse fixture made tmp_path the working directory.
    _toml(tmp_path / "insiderwatch.toml", 'db = "local.duckdb"\n')
    assert load_settings(environ={}).db == "local.duckdb"
    # $INSIDERWATCH_CONFIG wins over the local file ...
    env_file = _toml(tmp_path / "env.toml", 'db = "env-file.duckdb"\n')
    environ = {"INSIDERWATCH_CONFIG": str(env_file)}
    assert load_settings(environ=environ).db == "env-file.duckdb"
    # ... the process environment is used when none is passed ...
    monkeypatch.setenv("INSIDERWATCH_CONFIG", str(env_file))
    assert load_settings().db == "env-file.duckdb"
    # ... and an explicit file wins over both.
    explicit = _toml(tmp_path / "x.toml", 'db = "explicit.duckdb"\n')
    assert load_settings(config_file=explicit, environ=environ).db == "explicit.duckdb"


def test_unknown_key_in_file_is_an_error_naming_it(tmp_path):
    config = _toml(tmp_path / "c.toml", 'db = "x"\ndatabase_path = "y"\n')
    with pytest.raises(ConfigError, match="database_path") as info:
        load_settings(config_file=config, environ={})
    assert str(config) in str(info.value)


@pytest.mark.parametrize(
    ("where", "name", "value"),
    [
        ("env", "threads", "-1"),
        ("env", "threads", "many"),
        ("env", "batch_rows", "1e3"),
        ("env", "threads", ""),
        ("file", "threads", "-2"),
        ("file", "batch_rows", '"lots"'),
        ("flag", "threads", "x"),
        ("env", "detect_interval_seconds", "-1"),
        ("env", "detect_interval_seconds", "nan"),
        ("env", "nats_batch", "0"),
        ("env", "nats_ack_wait", "-1"),
        ("file", "tail_interval", "0"),
        ("env", "unmask_hours", "0"),
        ("env", "unmask_hours", "inf"),
        ("env", "stop_writer_grace_seconds", "-1"),
        ("file", "stop_writer_grace_seconds", "3601"),
        ("env", "stop_reader_grace_seconds", "nan"),
        ("flag", "stop_reader_grace_seconds", "601"),
    ],
)
def test_bad_values_name_the_setting(tmp_path, where, name, value):
    flags, environ, config = {}, {}, None
    if where == "env":
        environ[REGISTRY[name].env_var] = value
    elif where == "file":
        config = _toml(tmp_path / "c.toml", f"{name} = {value}\n")
    else:
        flags[name] = value
    with pytest.raises(ConfigError, match=rf"\b{name}\b") as info:
        load_settings(flags, config_file=config, environ=environ)
    assert where in str(info.value)


def test_missing_or_malformed_config_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_settings(config_file=tmp_path / "absent.toml", environ={})
    broken = _toml(tmp_path / "broken.toml", "threads = = 3\n")
    with pytest.raises(ConfigError, match="TOML"):
        load_settings(config_file=broken, environ={})


def test_attribute_access():
    resolved = load_settings(environ={})
    assert resolved.db == resolved["db"]
    with pytest.raises(AttributeError):
        _ = resolved.no_such_setting


def test_default_secret_path_is_under_xdg_config(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    resolved = load_settings(environ={})
    assert resolved.secret_path == tmp_path / "cfg" / "insiderwatch" / "hash.key"


def test_env_var_names():
    assert [s.env_var for s in SETTINGS] == [f"INSIDERWATCH_{s.name.upper()}" for s in SETTINGS]
    # ops_url may carry a database password
    assert [s.name for s in SETTINGS if s.secret] == ["ops_url", "hash_key"]


# --- through the command line ----------------------------------------------------------


def test_cli_settings_json_masks_the_hash_key(cli, tmp_path):
    secret = "cd" * 16
    result = cli("settings", "--json", env={"INSIDERWATCH_HASH_KEY": secret})
    assert result.exit_code == 0, result.output
    assert secret not in result.stdout
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert set(rows) == set(REGISTRY)
    assert rows["hash_key"]["value"] == "***"
    assert rows["hash_key"]["source"] == "env"
    assert rows["secret_file"]["value"] == str(tmp_path / "secrets" / "hash.key")


def test_cli_settings_shows_unset_key_as_empty(cli):
    rows = {r["name"]: r for r in json.loads(cli("settings", "--json").stdout)}
    assert rows["hash_key"]["value"] is None
    assert rows["db"]["source"] == "default"


def test_cli_settings_flag_and_config(cli, tmp_path):
    config = _toml(tmp_path / "c.toml", 'db = "file.duckdb"\nthreads = 2\n')
    result = cli("settings", "--json", "--config", config, "--db", tmp_path / "flag.duckdb")
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert rows["db"]["value"] == str(tmp_path / "flag.duckdb")
    assert rows["db"]["source"] == "flag"
    assert rows["threads"]["value"] == 2
    assert "c.toml" in rows["threads"]["source"]


def test_cli_bad_setting_exits_1_naming_it(cli, tmp_path):
    config = _toml(tmp_path / "c.toml", "colour = 'blue'\n")
    result = cli("settings", "--config", config)
    assert result.exit_code == 1
    assert "colour" in result.stderr
    result = cli("stats", env={"INSIDERWATCH_THREADS": "lots"})
    assert result.exit_code == 1
    assert "threads" in result.stderr
