"""What an A/B report over N traces costs: `prompthooks ab` beside fetching the same traces with `mlflow.search_traces`.

    python bench/ab_bench.py [--traces 100000] [--backend sqlite|postgresql] [--workers 2] [--dir /dev/shm]

For each N: a fresh ``mlflow server`` (a sqlite file, or a throwaway PostgreSQL 15 cluster), one prompt
deployed to ``production`` and a changed version split in as ``production--b`` at 50%, then N traces of
an application (``testing/traffic.py``: ``load()`` inside ``@mlflow.trace``, a ``resolved`` feedback on
every trace that did not fail), written straight into the server's database through MLflow's own store
(MLflow's exporter would cost four HTTP requests a trace; the report's cost does not depend on how the
traces got there).  Then, each as a whole process (``import mlflow`` included), against the server:

- ``prompthooks ab production --json``: the report;
- ``mlflow.search_traces`` of each arm's traces (``prompt = "NAME/N"``), as MLflow's documentation shows it
  (a DataFrame, spans included), and as a list without spans (``include_spans=False``): fetching the same
  traces, before any statistics.

Prints wall time, HTTP requests (counted in the server's own access log) and the CPU time of the command
and of the server, and checks that the report counted every trace.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from bench.deploy_bench import Server  # noqa: E402
from bench.sync_bench import PROMPTHOOKS, build, start_server  # noqa: E402

TRAFFIC = str(BENCH.parent / "testing" / "traffic.py")
NAME = "abbench_00000"
GIT_ENV = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "b@example.com", "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "b@example.com"}
SEARCH = str(BENCH / "ab_search.py")


def run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env={**os.environ, **GIT_ENV, **(env or {})})
    if result.returncode != 0:
        raise SystemExit(f"{command[:3]} failed: {result.stderr[-2000:]}")
    return result.stdout


def measured(command: list[str], cwd: Path, server: Server) -> tuple[str, str]:
    """The command's output, and its wall time, requests and CPU (the command's and the server's)."""
    import resource

    requests_before, server_before = server.requests(), server.cpu()
    client_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    output = run(command, cwd)
    elapsed = time.perf_counter() - start
    client_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    client = client_after.ru_utime + client_after.ru_stime - client_before.ru_utime - client_before.ru_stime
    time.sleep(0.3)  # the access log line of the last response
    cell = f"{elapsed:.1f} s, {server.requests() - requests_before:,} requests (CPU: client {client:.1f} s, server {server.cpu() - server_before:.1f} s)"
    return output, cell


def split(repo: Path, uri: str) -> None:
    """Deploy the prompt to production, then a changed version as variant b at 50%."""
    run([PROMPTHOOKS, "deploy", "production", "--tracking-uri", uri], repo)
    prompt = next((repo / "prompts").glob("*.md"))
    prompt.write_text(prompt.read_text().replace("You are assistant", "You are the assistant"))
    for command in (["git", "add", "-A"], [PROMPTHOOKS, "lock", "--quiet"], ["git", "add", "-A"], ["git", "commit", "-q", "-m", "reword"]):
        subprocess.run(command, cwd=repo, env={**os.environ, **GIT_ENV}, capture_output=True)
    run([PROMPTHOOKS, "deploy", "production", "--variant", "b", "--weight", "50", "--tracking-uri", uri], repo)


def hold(repo: Path, uri: str, name: str) -> None:
    """Keep the server up, and say how to run the commands against it, until interrupted."""
    print(f"held: {uri}, repository {repo}; Ctrl-C (or SIGTERM) stops the server", flush=True)
    print(f"  cd {repo} && {PROMPTHOOKS} ab production --experiment app --json --tracking-uri {uri}", flush=True)
    print(f"  cd {repo} && {sys.executable} {SEARCH} {uri} app {name} list|spans", flush=True)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, nargs="+", default=[100_000])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--workers", type=int, default=2, help="mlflow server --workers")
    parser.add_argument("--dir", default=None, help="where the server's files go (default: the system's temporary folder)")
    parser.add_argument("--no-spans", action="store_true", help="skip mlflow.search_traces with spans (one request per 10 traces)")
    parser.add_argument("--hold", action="store_true", help="keep the last server and its traces until interrupted, to time the commands again")
    args = parser.parse_args()
    print(f"mlflow server on {args.backend}, --workers {args.workers}; {os.cpu_count()} cores")
    rows = []
    with tempfile.TemporaryDirectory(prefix="prompthooks-ab-bench-", dir=args.dir) as temp:
        root = Path(temp)
        for size in args.traces:
            repo = build(root, 1, prefix=f"abbench{size}")
            server = Server(*start_server(root / f"server-{size}", args.backend, args.workers))
            try:
                uri = server.server.uri
                split(repo, uri)
                name = f"abbench{size}_00000"
                start = time.perf_counter()
                traffic = [sys.executable, TRAFFIC, "--serve", f"{name}@production", "--users", str(size), "--experiment", "app", "--jobs", "1"]
                served = json.loads(run([*traffic, "--resolved", "production=0.50", "--resolved", "production--b=0.52"], repo, {"MLFLOW_TRACKING_URI": server.server.backend_store_uri}).splitlines()[-1])
                made = time.perf_counter() - start
                print(f"N={size:,}: {made:.0f} s to write the traces into the store ({size / made:.0f} a second): {json.dumps(served['arms'])}", flush=True)
                output, report = measured([PROMPTHOOKS, "ab", "production", "--experiment", "app", "--json", "--tracking-uri", uri], repo, server)
                counted = {arm["alias"]: arm["traces"] for arm in json.loads(output)["prompts"][0]["arms"]}
                assert counted == {alias: arm["traces"] for alias, arm in served["arms"].items()}, (counted, served)
                _, listed = measured([sys.executable, SEARCH, uri, "app", name, "list"], repo, server)
                cells = [report, listed]
                if not args.no_spans:
                    found, with_spans = measured([sys.executable, SEARCH, uri, "app", name, "spans"], repo, server)
                    assert sum(int(line) for line in found.split()) == size, found
                    cells.append(with_spans)
                rows.append(f"| {size:,} | " + " | ".join(cells) + " |")
                print(rows[-1], flush=True)
                if args.hold and size == args.traces[-1]:
                    hold(repo, uri, name)
            finally:
                server.stop()
    print()
    print("| traces | `prompthooks ab production` | `mlflow.search_traces` of both arms, list without spans | ... as a DataFrame with spans (its default) |")
    print("|---:|---:|---:|---:|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
