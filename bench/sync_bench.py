"""Time `prompthooks sync` against a real local MLflow server, beside the naive approach.

    python bench/sync_bench.py [--sizes 200 1000] [--workers 2] [--jobs 4]
    python bench/sync_bench.py --backend postgresql --workers 4 --sizes 10000 --no-naive --parallel 5 --parallel-size 1000

For each N it builds a repository of N prompts, then runs, each as a whole
process against a fresh ``mlflow server`` on 127.0.0.1 (a sqlite store, or a
throwaway PostgreSQL 15 cluster) through a counting proxy: ``prompthooks sync``
(N new versions), ``prompthooks sync`` again (nothing to do), and unless
``--no-naive``, ``bench/naive_sync.py`` (one MLflow run per prompt with
log_text, log_params and tags) twice.  Prints wall time and HTTP requests as a
Markdown table.  With ``--parallel K``, K syncs of the same M new prompts
(``--parallel-size``) start at once against the same server, as K CI runners
would, and the registry is then read directly to check every version is there
exactly once.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from testing.counting_proxy import CountingProxy  # noqa: E402
from testing.mlflow_server import MlflowServer  # noqa: E402
from testing.postgres_server import PostgresCluster  # noqa: E402

PROMPTHOOKS = str(Path(sys.executable).with_name("prompthooks"))
TEMPLATE = "---\nname: bench_{i:05d}\ndescription: Benchmark prompt {i}\nmodel_config:\n  temperature: 0.{t}\nowner: bench\n---\nYou are assistant {i}. Answer {{{{ question }}}} about {{{{ topic }}}}.\n"


def build(root: Path, size: int, prefix: str = "bench") -> Path:
    repo = root / f"repo-{prefix}-{size}"
    (repo / "prompts").mkdir(parents=True)
    for i in range(size):
        (repo / "prompts" / f"p{i:05d}.md").write_text(TEMPLATE.replace("name: bench_", f"name: {prefix}_").format(i=i, t=i % 10))
    env = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "b@example.com", "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "b@example.com"}
    for command in (["git", "init", "-q"], ["git", "add", "-A"], [PROMPTHOOKS, "lock", "--quiet"], ["git", "add", "-A"], ["git", "commit", "-q", "-m", "prompts"]):
        subprocess.run(command, cwd=repo, env={**env, "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin"}, capture_output=True)
    return repo


def timed(command: list[str], repo: Path, proxy: CountingProxy) -> tuple[float, int]:
    proxy.take()
    start = time.perf_counter()
    result = subprocess.run(command, cwd=repo, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{command} failed: {result.stderr[-2000:]}")
    return elapsed, proxy.take()


def start_server(root: Path, backend: str, workers: int) -> tuple[MlflowServer, PostgresCluster | None]:
    if backend == "sqlite":
        return MlflowServer(root, workers=workers).start(), None
    cluster = PostgresCluster().start()
    try:
        return MlflowServer(root, workers=workers, backend_store_uri=cluster.create_database("mlflow")).start(timeout=180), cluster
    except BaseException:
        cluster.stop()
        raise


def registered_versions(uri: str, prefix: str) -> dict[str, list[str]]:
    """Every prompt version whose name starts with ``prefix``: name to the hashes of its versions."""
    from mlflow import MlflowClient

    from prompthooks.contract import TAG_HASH
    from prompthooks.registry.stored import IS_PROMPT_FILTER

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    found: dict[str, list[str]] = {}
    page_token = None
    while True:
        page = client.search_model_versions(f"name LIKE '{prefix}_%' AND {IS_PROMPT_FILTER}", max_results=1000, page_token=page_token)
        for version in page:
            found.setdefault(version.name, []).append(dict(version.tags).get(TAG_HASH, ""))
        page_token = page.token
        if not page_token:
            return found


def parallel(root: Path, server: MlflowServer, proxy: CountingProxy, runners: int, size: int, jobs: int) -> str:
    """``runners`` syncs of the same ``size`` new prompts at once; every version must end up registered exactly once."""
    repo = build(root, size, prefix="parallel")
    command = [PROMPTHOOKS, "sync", "--tracking-uri", proxy.uri, "--jobs", str(jobs), "--json"]
    proxy.take()
    start = time.perf_counter()
    processes = [subprocess.Popen(command, cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(runners)]
    results = [process.communicate() for process in processes]
    elapsed = time.perf_counter() - start
    requests = proxy.take()
    for process, (_, stderr) in zip(processes, results, strict=True):
        if process.returncode != 0:
            raise SystemExit(f"a parallel sync failed ({process.returncode}): {stderr[-2000:]}")
    registered = sum(json.loads(stdout)["summary"]["registered"] for stdout, _ in results)
    found = registered_versions(server.uri, "parallel")
    exactly_once = len(found) == size and all(len(hashes) == 1 for hashes in found.values())
    duplicates = sum(len(hashes) - 1 for hashes in found.values())
    return (
        f"{runners} syncs of the same {size:,} new prompts at once (--jobs {jobs} each): {elapsed:.1f} s wall, "
        f"{requests:,} requests ({requests / size:.2f} per prompt), {registered:,} registrations kept; "
        f"registry: {len(found):,} prompts, {duplicates} duplicate version(s): "
        + ("every version exactly once" if exactly_once else "NOT exactly once")
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 1000])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite", help="the server's backend store")
    parser.add_argument("--workers", type=int, default=2, help="mlflow server --workers")
    parser.add_argument("--jobs", type=int, default=4, help="prompthooks sync --jobs")
    parser.add_argument("--no-naive", action="store_true", help="skip the naive script (hours at 10,000 prompts)")
    parser.add_argument("--parallel", type=int, default=0, metavar="K", help="then K syncs of the same new prompts at once")
    parser.add_argument("--parallel-size", type=int, default=1000)
    args = parser.parse_args()
    print(f"mlflow server on {args.backend}, --workers {args.workers}; prompthooks sync --jobs {args.jobs}; {os.cpu_count()} cores")
    print()
    print("| N | prompthooks sync (N new) | requests per new prompt | prompthooks sync again (no-op) | no-op / first | naive script | naive script again |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="prompthooks-sync-bench-") as temp:
        root = Path(temp)
        for index, size in enumerate(args.sizes):
            repo = build(root, size)
            server, cluster = start_server(root / f"server-{size}", args.backend, args.workers)
            proxy = CountingProxy(server.port)
            try:
                sync = [PROMPTHOOKS, "sync", "--tracking-uri", proxy.uri, "--jobs", str(args.jobs), "--timeout", "7200"]
                naive = [sys.executable, str(BENCH / "naive_sync.py"), proxy.uri, str(repo)]
                (first, first_requests), (again, again_requests) = timed(sync, repo, proxy), timed(sync, repo, proxy)
                naive_cells = ["—", "—"]
                if not args.no_naive:
                    naive_cells = [f"{seconds:.1f} s, {requests:,} requests" for seconds, requests in (timed(naive, repo, proxy), timed(naive, repo, proxy))]
                cells = [
                    f"{first:.1f} s, {first_requests:,} requests",
                    f"{first_requests / size:.2f}",
                    f"{again:.1f} s, {again_requests:,} requests",
                    f"{again / first:.3f}",
                    *naive_cells,
                ]
                print(f"| {size:,} | " + " | ".join(cells) + " |", flush=True)
                if args.parallel and index == len(args.sizes) - 1:
                    print()
                    print(parallel(root, server, proxy, args.parallel, args.parallel_size, args.jobs), flush=True)
            finally:
                proxy.close()
                server.stop()
                if cluster is not None:
                    cluster.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
