"""Time `prompthooks sync` against a real local MLflow server, beside the naive approach.

    python bench/sync_bench.py [--sizes 200 1000] [--workers 2] [--jobs 4]

For each N it builds a repository of N prompts, then runs, each as a whole
process against a fresh sqlite-backed ``mlflow server`` on 127.0.0.1 through a
counting proxy: ``prompthooks sync`` (N new versions), ``prompthooks sync``
again (nothing to do), and ``bench/naive_sync.py`` (one MLflow run per prompt
with log_text, log_params and tags) twice.  Prints wall time and HTTP requests
as a Markdown table.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from bench.counting_proxy import CountingProxy  # noqa: E402
from tests.mlflow_server import MlflowServer  # noqa: E402

PROMPTHOOKS = str(Path(sys.executable).with_name("prompthooks"))
TEMPLATE = "---\nname: bench_{i:05d}\ndescription: Benchmark prompt {i}\nmodel_config:\n  temperature: 0.{t}\nowner: bench\n---\nYou are assistant {i}. Answer {{{{ question }}}} about {{{{ topic }}}}.\n"


def build(root: Path, size: int) -> Path:
    repo = root / f"repo-{size}"
    (repo / "prompts").mkdir(parents=True)
    for i in range(size):
        (repo / "prompts" / f"p{i:05d}.md").write_text(TEMPLATE.format(i=i, t=i % 10))
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 1000])
    parser.add_argument("--workers", type=int, default=2, help="mlflow server --workers")
    parser.add_argument("--jobs", type=int, default=4, help="prompthooks sync --jobs")
    args = parser.parse_args()
    print("| N | prompthooks sync (N new) | prompthooks sync again (no-op) | naive script | naive script again |")
    print("|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="prompthooks-sync-bench-") as temp:
        root = Path(temp)
        for size in args.sizes:
            repo = build(root, size)
            server = MlflowServer(root / f"server-{size}", workers=args.workers).start()
            proxy = CountingProxy(server.port)
            try:
                sync = [PROMPTHOOKS, "sync", "--tracking-uri", proxy.uri, "--jobs", str(args.jobs)]
                naive = [sys.executable, str(BENCH / "naive_sync.py"), proxy.uri, str(repo)]
                cells = [timed(sync, repo, proxy), timed(sync, repo, proxy), timed(naive, repo, proxy), timed(naive, repo, proxy)]
            finally:
                proxy.close()
                server.stop()
            print(f"| {size:,} | " + " | ".join(f"{seconds:.1f} s, {requests:,} requests" for seconds, requests in cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
