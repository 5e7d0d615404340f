"""Private database servers for the real-log tests: PostgreSQL with pgaudit, MariaDB
with the server_audit plugin. Each runs from a temporary folder on its own port and is
stopped by the fixture that started it. Servers refuse to run as root, so under root
(CI) they run as the packages' service user.
"""

from __future__ import annotations

import glob
import os
import pwd
import random
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest


def free_port() -> int:
    """A port free now, from a range of its own per pytest-xdist worker.

    The port is released before the server binds it; with the suite on several workers,
    the kernel's next ephemeral port could go to another worker's server in between.
    Each worker draws from its own 2,000 ports below the ephemeral range instead.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    base = 20000 + 2000 * (int(worker) % 6 if worker.isdigit() else 0)
    for port in random.sample(range(base, base + 2000), 2000):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {base}-{base + 1999}")


def _as_service_user(user: str) -> list[str]:
    return ["runuser", "-u", user, "--"] if os.geteuid() == 0 else []


def _service_dir(user: str) -> Path:
    """A temporary folder the server's user owns (pytest's tmp folders are root-only)."""
    folder = Path(tempfile.mkdtemp(prefix=f"iw-{user}-"))
    if os.geteuid() == 0:
        entry = pwd.getpwnam(user)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    folder.chmod(0o755)
    return folder


def _wait_for(check, what: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not happen within {seconds:.0f} s")


# --- PostgreSQL ------------------------------------------------------------------------


def _pg_bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.fail(
            "PostgreSQL server binaries not found: run tools/provision.sh as root "
            "(installs postgresql)"
        )
    return Path(found[-1]).parent


class Postgres:
    """initdb + pg_ctl on 127.0.0.1:<port>, with pgaudit unless ``pgaudit=False`` (the
    operational store needs a plain server); logs as csvlog and stderr."""

    LOG_LINE_PREFIX = "%m [%p] %c %q%u@%d [%a] "

    def __init__(self, pgaudit: bool = True) -> None:
        self.bin = _pg_bindir()
        self.pgaudit = pgaudit
        libdir = subprocess.run(
            [str(self.bin / "pg_config"), "--pkglibdir"], capture_output=True, text=True
        ).stdout.strip()
        if pgaudit and not Path(libdir, "pgaudit.so").exists():
            pytest.fail(
                f"pgaudit is not installed in {libdir}: run tools/provision.sh as root "
                f"(installs postgresql-{self.bin.parent.name}-pgaudit)"
            )
        self.root = _service_dir("postgres")
        self.data = self.root / "data"
        self.logs = self.root / "log"
        self.port = free_port()
        self.sudo = _as_service_user("postgres")

    def start(self) -> None:
        if not self.data.exists():
            subprocess.run(
                [
                    *self.sudo,
                    str(self.bin / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--no-sync",
                ],
                check=True,
                capture_output=True,
            )
            conf = {
                "listen_addresses": "'127.0.0.1'",
                "port": str(self.port),
                "unix_socket_directories": f"'{self.root}'",
                "logging_collector": "on",
                "log_destination": "'csvlog,stderr'",
                "log_directory": f"'{self.logs}'",
                "log_filename": "'postgresql.log'",
                "log_timezone": "'UTC'",
                "log_line_prefix": f"'{self.LOG_LINE_PREFIX}'",
                "fsync": "off",
            }
            if self.pgaudit:
                conf |= {
                    "shared_preload_libraries": "'pgaudit'",
                    "pgaudit.log": "'read, write'",
                    "pgaudit.log_relation": "on",
                    "pgaudit.log_rows": "on",
                }
            with (self.data / "postgresql.conf").open("a") as fh:
                fh.writelines(f"{k} = {v}\n" for k, v in conf.items())
        subprocess.run(
            [
                *self.sudo,
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.data),
                "-w",
                "-l",
                str(self.root / "server.log"),
                "start",
            ],
            check=True,
            capture_output=True,
        )

    def stop(self) -> None:
        """Stop (which also flushes the logs)."""
        subprocess.run(
            [
                *self.sudo,
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.data),
                "-w",
                "-m",
                "fast",
                "stop",
            ],
            capture_output=True,
        )

    def psql(self, sql: str, user: str = "postgres", app: str = "psql") -> str:
        done = subprocess.run(
            [
                str(self.bin / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                user,
                "-d",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-X",
                "-q",
                "-A",
                "-t",
                "-c",
                sql,
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "PGAPPNAME": app},
        )
        if done.returncode:
            raise RuntimeError(f"psql failed: {done.stderr}")
        return done.stdout

    @property
    def csvlog(self) -> Path:
        return self.logs / "postgresql.csv"

    @property
    def stderr_log(self) -> Path:
        return self.logs / "postgresql.log"

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


# --- MariaDB ---------------------------------------------------------------------------


class Mariadb:
    """A private mariadbd with the server_audit plugin logging connects, queries, tables."""

    def __init__(self) -> None:
        for tool in ("mariadb-install-db", "mariadb"):
            if shutil.which(tool) is None:
                pytest.fail(
                    f"{tool} not found: run tools/provision.sh as root "
                    "(installs mariadb-server, mariadb-client)"
                )
        self.daemon = shutil.which("mariadbd") or "/usr/sbin/mariadbd"
        self.root = _service_dir("mysql")
        self.data = self.root / "data"
        self.audit_log = self.root / "server_audit.log"
        self.port = free_port()
        self.sudo = _as_service_user("mysql")
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        if not self.data.exists():
            subprocess.run(
                [
                    *self.sudo,
                    "mariadb-install-db",
                    "--no-defaults",
                    f"--datadir={self.data}",
                    "--auth-root-authentication-method=normal",
                    "--skip-test-db",
                ],
                check=True,
                capture_output=True,
            )
        self.process = subprocess.Popen(
            [
                *self.sudo,
                self.daemon,
                "--no-defaults",
                f"--datadir={self.data}",
                f"--port={self.port}",
                f"--socket={self.root / 'mysqld.sock'}",
                "--bind-address=127.0.0.1",
                f"--pid-file={self.root / 'mysqld.pid'}",
                f"--log-error={self.root / 'error.log'}",
                "--skip-log-bin",
                "--innodb-buffer-pool-size=16M",
                "--plugin-load-add=server_audit",
                "--server-audit-logging=ON",
                "--server-audit-events=CONNECT,QUERY,TABLE",
                f"--server-audit-file-path={self.audit_log}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for(self._ready, "MariaDB start")

    def _ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"mariadbd exited; see {self.root / 'error.log'}")
        done = self._client("SELECT 1", "root")
        return done.returncode == 0

    def _client(self, sql: str, user: str) -> subprocess.CompletedProcess:
        command = ["mariadb", "--no-defaults", "-h", "127.0.0.1", "-P", str(self.port)]
        return subprocess.run([*command, "-u", user, "-e", sql], capture_output=True, text=True)

    def sql(self, sql: str, user: str = "root") -> str:
        done = self._client(sql, user)
        if done.returncode:
            raise RuntimeError(f"mariadb failed: {done.stderr}")
        return done.stdout

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=60)
        self.process = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


# --- NATS ------------------------------------------------------------------------------


class Nats:
    """A private nats-server with JetStream on 127.0.0.1:<port>; its store survives
    ``restart`` (what a NATS restart under load must not lose)."""

    def __init__(self) -> None:
        self.binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
        if not Path(self.binary).exists():
            pytest.fail(
                "nats-server not found: run tools/provision.sh as root (installs nats-server)"
            )
        self.root = Path(tempfile.mkdtemp(prefix="iw-nats-"))
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "-a",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-js",
                "-sd",
                str(self.root / "jetstream"),
                "-l",
                str(self.root / "server.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for(self._ready, "nats-server start")

    def _ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"nats-server exited; see {self.root / 'server.log'}")
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
