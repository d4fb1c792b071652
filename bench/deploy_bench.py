"""Time `prompthooks deploy`, `rollback` and `status` of N prompts against a real local MLflow server.

    python bench/deploy_bench.py [--sizes 1000] [--workers 2] [--jobs 4] [--backend sqlite|sqlite-wal|postgresql]

For each N: a repository of N prompts (as bench/sync_bench.py builds it), a fresh
``mlflow server`` on a sqlite file (as MLflow creates it, or switched to WAL mode),
or on a throwaway PostgreSQL 15 cluster; then, each as a whole process
(``import mlflow`` included): sync; deploy production (N aliases set); deploy again
(nothing to move); a commit changing every prompt, synced, then deployed (N aliases
moved); rollback (N aliases moved back); status.  Prints wall time, HTTP requests
(counted in the server's own access log: no proxy in between takes CPU from a small
machine), and the CPU time of the command and of the server (its workers, and
PostgreSQL's processes).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from bench.sync_bench import PROMPTHOOKS, build, start_server  # noqa: E402
from testing.mlflow_server import MlflowServer  # noqa: E402
from testing.postgres_server import PostgresCluster  # noqa: E402

STEPS = ("sync (N new)", "deploy (N set)", "deploy again (no-op)", "deploy a new commit (N moved)", "rollback (N moved)", "status")
ACCESS_LINE = re.compile(rb'^\S+ \S+ INFO: +[\d.]+:\d+ - "[A-Z]+ ', re.MULTILINE)  # uvicorn's access log, one line a request


def change_every_prompt(repo: Path) -> None:
    for path in sorted((repo / "prompts").glob("*.md")):
        path.write_text(path.read_text().replace("You are assistant", "You are the assistant"))
    env = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "b@example.com", "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "b@example.com"}
    for command in (["git", "add", "-A"], [PROMPTHOOKS, "lock", "--quiet"], ["git", "add", "-A"], ["git", "commit", "-q", "-m", "reword"]):
        subprocess.run(command, cwd=repo, env={**env, "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin"}, capture_output=True)


def server_cpu(group: int, postmaster: int | None) -> float:
    """User+sys CPU seconds of the live server processes, from /proc: the MLflow server's process group, and PostgreSQL's postmaster with its backends."""
    total = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            pid, parent, process_group = int(entry.name), int(fields[1]), int(fields[2])
            if process_group == group or postmaster in (pid, parent):
                total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


class Server:
    """The MLflow server under test, its database's processes, and its access log."""

    def __init__(self, server: MlflowServer, cluster: PostgresCluster | None) -> None:
        assert server.process is not None
        self.server, self.cluster = server, cluster
        self.log = server.directory / "server.log"
        self.group = server.process.pid
        self.postmaster = None if cluster is None or cluster.process is None else cluster.process.pid

    def cpu(self) -> float:
        return server_cpu(self.group, self.postmaster)

    def requests(self) -> int:
        return len(ACCESS_LINE.findall(self.log.read_bytes()))

    def stop(self) -> None:
        self.server.stop()
        if self.cluster is not None:
            self.cluster.stop()


def timed(command: list[str], repo: Path, server: Server) -> str:
    """Wall time, requests, and the CPU seconds of the command and of the server (where a small machine's time goes)."""
    requests_before, server_before = server.requests(), server.cpu()
    client_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(command, cwd=repo, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{command} failed: {result.stderr[-2000:]}")
    client_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    client = client_after.ru_utime + client_after.ru_stime - client_before.ru_utime - client_before.ru_stime
    time.sleep(0.2)  # the access log line of the last response
    return f"{elapsed:.1f} s, {server.requests() - requests_before:,} requests (CPU: client {client:.1f} s, server {server.cpu() - server_before:.1f} s)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000])
    parser.add_argument("--workers", type=int, default=2, help="mlflow server --workers")
    parser.add_argument("--jobs", type=int, default=4, help="prompthooks --jobs")
    parser.add_argument(
        "--backend", choices=["sqlite", "sqlite-wal", "postgresql"], default="sqlite",
        help="the server's store: a sqlite file as MLflow creates it (rollback journal), the same in WAL mode, or PostgreSQL 15",
    )
    args = parser.parse_args()
    print(f"mlflow server on {args.backend}, --workers {args.workers}; prompthooks --jobs {args.jobs}; {os.cpu_count()} cores")
    print()
    print("| N | " + " | ".join(STEPS) + " |")
    print("|---:|" + "---:|" * len(STEPS))
    with tempfile.TemporaryDirectory(prefix="prompthooks-deploy-bench-") as temp:
        root = Path(temp)
        for size in args.sizes:
            repo = build(root, size)
            server = Server(*start_server(root / f"server-{size}", "postgresql" if args.backend == "postgresql" else "sqlite", args.workers))
            try:
                if args.backend == "sqlite-wal":  # persistent in the file; readers then no longer block the writer
                    with sqlite3.connect(root / f"server-{size}" / "mlflow.db", timeout=30) as database:
                        database.execute("PRAGMA journal_mode=WAL")
                common = ["--tracking-uri", server.server.uri, "--jobs", str(args.jobs)]
                cells = [
                    timed([PROMPTHOOKS, "sync", *common], repo, server),
                    timed([PROMPTHOOKS, "deploy", "production", *common], repo, server),
                    timed([PROMPTHOOKS, "deploy", "production", *common], repo, server),
                ]
                change_every_prompt(repo)
                subprocess.run([PROMPTHOOKS, "sync", *common], cwd=repo, capture_output=True, check=True)
                cells.append(timed([PROMPTHOOKS, "deploy", "production", *common], repo, server))
                cells.append(timed([PROMPTHOOKS, "rollback", "production", *common], repo, server))
                cells.append(timed([PROMPTHOOKS, "status", "production", "--tracking-uri", server.server.uri], repo, server))
            finally:
                server.stop()
            print(f"| {size:,} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
