"""A throwaway PostgreSQL + PostGIS cluster on 127.0.0.1, for tests and benchmarks.

Debian's PostgreSQL 15 binaries live in /usr/lib/postgresql/15/bin.  PostgreSQL refuses to run
as root, so when we are root the cluster belongs to the `postgres` user and its commands run
through `runuser`.  `python -m devtools.pgcluster` starts one and prints its URL (Ctrl-C stops it).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
POSTGIS_CONTROL = Path("/usr/share/postgresql/15/extension/postgis.control")


class ClusterUnavailableError(RuntimeError):
    pass


def postgis_available() -> bool:
    return (PG_BIN / "initdb").exists() and POSTGIS_CONTROL.exists()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_owner(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def _run(args: list[str]) -> None:
    done = subprocess.run(_as_owner(args), capture_output=True, text=True)
    if done.returncode != 0:
        raise ClusterUnavailableError(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")


@contextlib.contextmanager
def throwaway_postgis(database: str = "minqing") -> Iterator[str]:
    """Start a cluster in a temporary folder, create `database` with PostGIS, yield its URL."""
    if not postgis_available():
        raise ClusterUnavailableError(
            f"PostgreSQL 15 with PostGIS is not installed ({PG_BIN}/initdb, {POSTGIS_CONTROL}); "
            "`make test` installs it with apt-get"
        )
    root = Path(tempfile.mkdtemp(prefix="minqing-pg-"))
    data = root / "data"
    port = _free_port()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    try:
        _run([str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"])
        _run(
            [
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(root / "log"),
                "-w",
                "start",
                "-o",
                f"-h 127.0.0.1 -p {port} -k {root} -c fsync=off -c full_page_writes=off",
            ]
        )
        try:
            _psql(port, "postgres", f"CREATE DATABASE {database}")
            _psql(port, database, "CREATE EXTENSION postgis")
            yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/{database}"
        finally:
            _run([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"])
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _psql(port: int, database: str, sql: str) -> None:
    _run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            "postgres",
            "-d",
            database,
            "-v",
            "ON_ERROR_STOP=1",
            "-q",
            "-c",
            sql,
        ]
    )


if __name__ == "__main__":
    with throwaway_postgis() as url:
        print(url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
