"""Shared fixtures: an isolated environment, a store and the command line.

Every test runs with ``INSIDERWATCH_SECRET_FILE`` pointing into its own tmp folder (so no
test ever writes a key into the home directory), no other ``INSIDERWATCH_*`` variable set
and the tmp folder as working directory (so a stray ``insiderwatch.toml`` cannot leak in).
Datasets are written with the helpers in ``sample_data.py``.
"""

from __future__ import annotations

import fcntl
import importlib
import itertools
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from typer.testing import CliRunner

import insiderwatch.cli  # noqa: F401  (registers the commands on the app)
from insiderwatch.cli import app
from insiderwatch.ingest import IngestReport, ingest_dataset
from insiderwatch.privacy import HashKey
from insiderwatch.store import Store
from sample_data import KEY_HEX

cli_app = importlib.import_module("insiderwatch.cli.app")  # the module, not the Typer app
PIPED_WIDTH = 120

# Property tests: the same examples on every CI run (a landing never depends on luck),
# a wide random search under `make fuzz`. Tests that fix max_examples keep their number;
# the parser fuzz targets (test_fuzz.py) take it from the profile.
_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large]
settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    max_examples=60,
    deadline=None,
    suppress_health_check=_QUIET,
    print_blob=True,
)
settings.register_profile(
    "dev", max_examples=60, deadline=None, suppress_health_check=_QUIET, print_blob=True
)
settings.register_profile(
    "fuzz", max_examples=3000, deadline=None, suppress_health_check=_QUIET, print_blob=True
)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
)


def pytest_configure(config: pytest.Config) -> None:
    # Deprecation noise from Ibis's own use of DuckDB and pandas, not from this project.
    for message in ("fetch_arrow_table", "The 'future.infer_string' option"):
        config.addinivalue_line("filterwarnings", f"ignore:{message}")


# --- fixtures --------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Keep every test away from the real environment, home directory and cwd."""
    for name in list(os.environ):
        if name.startswith("INSIDERWATCH_"):
            monkeypatch.delenv(name)
    secret = tmp_path / "secrets" / "hash.key"
    monkeypatch.setenv("INSIDERWATCH_SECRET_FILE", str(secret))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    return secret


@pytest.fixture
def hash_key() -> HashKey:
    return HashKey(bytes.fromhex(KEY_HEX))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """An empty store in ``tmp_path/store`` (the folder holds everything it writes)."""
    with Store(tmp_path / "store" / "iw.duckdb", threads=1) as opened:
        yield opened


@pytest.fixture
def ingest(store: Store, hash_key: HashKey) -> Callable[..., IngestReport]:
    """``ingest(path)``: load a dataset folder or file into the test's store."""

    def run(root: Path, **kwargs: Any) -> IngestReport:
        return ingest_dataset(store, root, kwargs.pop("key", hash_key), **kwargs)

    return run


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """``cli(*args)``: run the command line in-process; stdout and stderr kept apart.

    A wide terminal keeps Rich from truncating table cells; messages may still wrap,
    which is why tests compare them through ``sample_data.flat``. The CLI's consoles take
    their width once, at import, from the terminal: they are set to what piped output
    gets (120 columns) so that no run depends on the terminal it started from (pytest-xdist
    hands its workers the controller's COLUMNS, 80 where that is no terminal).
    """
    for console in (cli_app.out, cli_app.err):
        monkeypatch.setattr(console, "width", PIPED_WIDTH)
    runner = CliRunner()

    def invoke(*args: str | Path, env: dict[str, str] | None = None):
        return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200", **(env or {})})

    return invoke


# --- worlds built once per run ---------------------------------------------------------


@pytest.fixture(scope="session")
def built_once(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """``built_once(name, build)``: the folder ``build(folder)`` filled, built once for the
    whole run and shared by every module and every pytest-xdist worker (each worker has its
    own session, so the folder lives under the run's common temp root and a file lock
    keeps the other workers waiting while one builds). The folder is read-only by
    convention: a test copies what it changes (``sample_data.copy_store``)."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the controller's temp root, above every worker's
    root = root / "built-once"
    root.mkdir(exist_ok=True)

    def get(name: str, build: Callable[[Path], object]) -> Path:
        folder = root / name
        with open(root / f"{name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (folder / ".built").exists():
                shutil.rmtree(folder, ignore_errors=True)  # a build that failed half-way
                folder.mkdir()
                build(folder)
                (folder / ".built").touch()
        return folder

    return get


# --- the operational store on both backends ---------------------------------------------


_OPS_DATABASES = itertools.count(1)


@pytest.fixture(scope="session")
def ops_postgres() -> Iterator[Any]:
    """One private PostgreSQL for the session's ops-store tests (a database per test)."""
    from servers import Postgres

    server = Postgres(pgaudit=False)
    server.start()
    yield server
    server.remove()


@pytest.fixture(params=["sqlite", "postgresql"])
def ops_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of an empty operational store: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ops.sqlite'}"
    server = request.getfixturevalue("ops_postgres")
    name = f"ops_{next(_OPS_DATABASES)}"
    server.psql(f"CREATE DATABASE {name}")
    return f"postgresql+psycopg://postgres@127.0.0.1:{server.port}/{name}"
