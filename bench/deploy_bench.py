"""Time `prompthooks deploy`, `rollback` and `status` of N prompts against a real local MLflow server.

    python bench/deploy_bench.py [--sizes 1000] [--workers 2] [--jobs 4]

For each N: a repository of N prompts (as bench/sync_bench.py builds it), a fresh
sqlite-backed ``mlflow server`` behind a counting proxy, then, each as a whole process
(``import mlflow`` included): sync; deploy production (N aliases set); deploy again
(nothing to move); a commit changing every prompt, synced, then deployed (N aliases
moved); rollback (N aliases moved back); status.  Prints wall time and HTTP requests.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from bench.counting_proxy import CountingProxy  # noqa: E402
from bench.sync_bench import PROMPTHOOKS, build, timed  # noqa: E402
from tests.mlflow_server import MlflowServer  # noqa: E402

STEPS = ("sync (N new)", "deploy (N set)", "deploy again (no-op)", "deploy a new commit (N moved)", "rollback (N moved)", "status")


def change_every_prompt(repo: Path) -> None:
    for path in sorted((repo / "prompts").glob("*.md")):
        path.write_text(path.read_text().replace("You are assistant", "You are the assistant"))
    env = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "b@example.com", "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "b@example.com"}
    for command in (["git", "add", "-A"], [PROMPTHOOKS, "lock", "--quiet"], ["git", "add", "-A"], ["git", "commit", "-q", "-m", "reword"]):
        subprocess.run(command, cwd=repo, env={**env, "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin"}, capture_output=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000])
    parser.add_argument("--workers", type=int, default=2, help="mlflow server --workers")
    parser.add_argument("--jobs", type=int, default=4, help="prompthooks --jobs")
    args = parser.parse_args()
    print("| N | " + " | ".join(STEPS) + " |")
    print("|---:|" + "---:|" * len(STEPS))
    with tempfile.TemporaryDirectory(prefix="prompthooks-deploy-bench-") as temp:
        root = Path(temp)
        for size in args.sizes:
            repo = build(root, size)
            server = MlflowServer(root / f"server-{size}", workers=args.workers).start(timeout=600)
            proxy = CountingProxy(server.port)
            try:
                common = ["--tracking-uri", proxy.uri, "--jobs", str(args.jobs)]
                cells = [
                    timed([PROMPTHOOKS, "sync", *common], repo, proxy),
                    timed([PROMPTHOOKS, "deploy", "production", *common], repo, proxy),
                    timed([PROMPTHOOKS, "deploy", "production", *common], repo, proxy),
                ]
                change_every_prompt(repo)
                subprocess.run([PROMPTHOOKS, "sync", *common], cwd=repo, capture_output=True, check=True)
                cells.append(timed([PROMPTHOOKS, "deploy", "production", *common], repo, proxy))
                cells.append(timed([PROMPTHOOKS, "rollback", "production", *common], repo, proxy))
                cells.append(timed([PROMPTHOOKS, "status", "production", "--tracking-uri", proxy.uri], repo, proxy))
            finally:
                proxy.close()
                server.stop()
            print(f"| {size:,} | " + " | ".join(f"{seconds:.1f} s, {requests:,} requests" for seconds, requests in cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
