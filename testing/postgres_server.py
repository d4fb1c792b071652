"""A throwaway PostgreSQL cluster on a free port of 127.0.0.1, for tests and benchmarks.

``initdb`` in a fresh temporary folder, ``postgres`` started directly (so its
PID is the one we stop), trust authentication on loopback only, durability off
(a test database is thrown away).  PostgreSQL refuses to run as root, so as
root the cluster belongs to the ``postgres`` user and runs as it.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Final

from testing.mlflow_server import free_port

SERVICE_USER: Final = "postgres"
FAST_UNSAFE_SETTINGS: Final = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


def bindir() -> Path | None:
    """Where initdb and postgres are: PATH, else ``pg_config --bindir``, else Debian's versioned folders."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("postgres"):
        return Path(os.path.realpath(on_path)).parent
    pg_config = shutil.which("pg_config")
    if pg_config:
        result = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        candidate = Path(result.stdout.strip())
        if result.returncode == 0 and (candidate / "initdb").exists():
            return candidate
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda path: int(Path(path).parent.parent.name))
    return Path(found[-1]).parent if found else None


class PostgresCluster:
    def __init__(self, *, port: int | None = None) -> None:
        found = bindir()
        if found is None:
            raise RuntimeError("PostgreSQL is not installed: no initdb on PATH, from pg_config --bindir or in /usr/lib/postgresql/*/bin")
        self.bin = found
        self.port = port or free_port()
        self.root = Path(tempfile.mkdtemp(prefix="prompthooks-postgres-"))  # not under pytest's 0700 folders: postgres must reach it
        self.data = self.root / "data"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def _as_service_user(self) -> bool:
        return os.geteuid() == 0

    def _popen_options(self) -> dict[str, object]:
        if not self._as_service_user:
            return {}
        return {"user": SERVICE_USER, "group": pwd.getpwnam(SERVICE_USER).pw_gid, "extra_groups": []}

    def uri(self, database: str = "postgres", *, driver: str = "psycopg") -> str:
        """A SQLAlchemy URL; SQLAlchemy 2 maps a bare ``postgresql://`` to psycopg2, so name psycopg (3)."""
        return f"postgresql+{driver}://{SERVICE_USER}@127.0.0.1:{self.port}/{database}"

    def start(self, timeout: float = 60.0) -> PostgresCluster:
        if self._as_service_user:
            shutil.chown(self.root, SERVICE_USER, SERVICE_USER)
        env = {**os.environ, "LC_ALL": "C", "HOME": str(self.root)}
        subprocess.run(
            [str(self.bin / "initdb"), "-D", str(self.data), "-U", SERVICE_USER, "-A", "trust", "-E", "UTF8", "--no-sync", "--locale=C"],
            check=True, capture_output=True, env=env, cwd=self.root, **self._popen_options(),  # type: ignore[call-overload]
        )
        command = [str(self.bin / "postgres"), "-D", str(self.data), "-p", str(self.port), "-h", "127.0.0.1", "-c", "unix_socket_directories="]
        for setting in FAST_UNSAFE_SETTINGS:
            command += ["-c", setting]
        log = open(self.root / "postgres.log", "ab")
        self.process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.root, start_new_session=True, **self._popen_options()  # type: ignore[call-overload]
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited: {(self.root / 'postgres.log').read_text()[-2000:]}")
            if subprocess.run([str(self.bin / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)]).returncode == 0:
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"postgres did not accept connections within {timeout} s")

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user={SERVICE_USER} dbname=postgres", autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.uri(name)

    def stop(self) -> None:
        """SIGINT is PostgreSQL's fast shutdown: clients are disconnected, the server exits."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        shutil.rmtree(self.root, ignore_errors=True)
