"""Time ``prompthooks.load`` beside ``mlflow.genai.load_prompt``, in one run.

    python bench/load_bench.py [--runs 5] [--warm-calls 20000] [--down-cap 30]

Builds a repository with one Jinja prompt (``app/prompt/assistant_v1.jinja2``), locks and
syncs it into a fresh local ``mlflow server`` (sqlite), points alias ``production`` at it
with MLflow's client, then measures, each cold figure in fresh processes (median of --runs):
import time; the first load from the registry; a warm (cached) load; a cold load from files;
and the time to a served answer with the registry down (MLflow's default retries are capped
at --down-cap seconds: they back off for about 247 s).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from testing.mlflow_server import MlflowServer, free_port  # noqa: E402

PROMPTHOOKS = str(Path(sys.executable).with_name("prompthooks"))
NAME = "assistant_v1"
TEMPLATE = "{#\ndescription: The assistant\nmodel: gpt-4o-mini\nmodel_config:\n  temperature: 0.2\n#}\nYou are a helpful assistant. Answer {{ question }} for {{ customer }}.\n"

PH_IMPORT = "import time; t = time.perf_counter(); from prompthooks import load; print(time.perf_counter() - t)"
ML_IMPORT = "import time; t = time.perf_counter(); import mlflow; print(time.perf_counter() - t)"
PH_FIRST = f"""
import time
t0 = time.perf_counter()
from prompthooks import load
IMPORT_MLFLOW
t1 = time.perf_counter()
prompt = load({NAME!r}, env="production")
t2 = time.perf_counter()
assert prompt.source == SOURCE, prompt.source
print(t2 - t1, t2 - t0)
"""
DOWN = """
import os, sys, threading, time, warnings
warnings.simplefilter("ignore")
t0 = time.perf_counter()
IMPORTS
import mlflow
t1 = time.perf_counter()
outcome = []
def run():
    try:
        CALL
        outcome.append(0)
    except Exception:
        outcome.append(1)
threading.Thread(target=run, daemon=True).start()
while not outcome and time.perf_counter() - t1 < float(sys.argv[1]):
    time.sleep(0.001)
t2 = time.perf_counter()
print(t2 - t1, t2 - t0, outcome[0] if outcome else 2, flush=True)
os._exit(0)
"""
PH_DOWN = DOWN.replace("IMPORTS", "from prompthooks import load").replace("CALL", f"load({NAME!r}, env='production')")
ML_DOWN = DOWN.replace("IMPORTS", "").replace("CALL", f"mlflow.genai.load_prompt('prompts:/{NAME}@production')")
ML_FIRST = f"""
import time, warnings
warnings.simplefilter("ignore")
t0 = time.perf_counter()
import mlflow
t1 = time.perf_counter()
prompt = mlflow.genai.load_prompt("prompts:/{NAME}@production")
t2 = time.perf_counter()
print(t2 - t1, t2 - t0)
"""
WARM = f"""
import statistics, sys, time, warnings
warnings.simplefilter("ignore")
calls = int(sys.argv[1])
def median_ns(call):
    call()
    samples = []
    for _ in range(calls):
        t = time.perf_counter_ns(); call(); samples.append(time.perf_counter_ns() - t)
    return statistics.median(samples)
from prompthooks import load
import mlflow
ph = median_ns(lambda: load({NAME!r}, env="production"))
ph_key = median_ns(lambda: load({NAME!r}, env="production", key="user-42"))
ml = median_ns(lambda: mlflow.genai.load_prompt("prompts:/{NAME}@production"))
print(ph, ph_key, ml)
"""


def build(root: Path) -> Path:
    repo = root / "repo"
    (repo / "app" / "prompt").mkdir(parents=True)
    (repo / "app" / "prompt" / f"{NAME}.jinja2").write_text(TEMPLATE)
    env = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "b@example.com", "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "b@example.com"}
    env["PATH"] = str(Path(sys.executable).parent) + ":/usr/bin:/bin"
    for command in (["git", "init", "-q"], ["git", "add", "-A"], [PROMPTHOOKS, "lock", "--quiet"], ["git", "add", "-A"], ["git", "commit", "-q", "-m", "prompts"]):
        subprocess.run(command, cwd=repo, env=env, capture_output=True)
    return repo


def child(code: str, cwd: Path, env: dict[str, str], *args: str, timeout: float | None = None) -> list[float]:
    result = subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise SystemExit(f"benchmark child failed: {result.stderr[-2000:]}")
    return [float(value) for value in result.stdout.split()]


def medians(runs: int, code: str, cwd: Path, env: dict[str, str]) -> list[float]:
    samples = [child(code, cwd, env) for _ in range(runs)]
    return [statistics.median(column) for column in zip(*samples, strict=True)]


def down_run(code: str, cwd: Path, env: dict[str, str], cap: float) -> str:
    """The load call's time (capped), and the whole process's, with nothing listening at the registry's address."""
    load_time, total, outcome = child(code, cwd, env, str(cap))
    if outcome == 2:
        return f"no answer after {load_time:,.0f} s (capped; MLflow's default retries back off for about 247 s)"
    answer = "served the deployed file" if outcome == 0 else "raised"
    return f"{ms(load_time)} ({ms(total)} with the imports): {answer}"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds >= 0.01 else f"{seconds * 1000:.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--warm-calls", type=int, default=20_000)
    parser.add_argument("--down-cap", type=float, default=30.0, help="seconds to wait for MLflow's own load with the server down")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        repo = build(root)
        server = MlflowServer(root / "server").start(timeout=600)
        try:
            base = {key: value for key, value in os.environ.items() if not key.startswith(("MLFLOW_", "PROMPTHOOKS_", "PROMPT_"))}
            base["MLFLOW_DISABLE_TELEMETRY"] = "true"
            registry = {**base, "MLFLOW_TRACKING_URI": server.uri}
            synced = subprocess.run([PROMPTHOOKS, "sync", "--tracking-uri", server.uri], cwd=repo, capture_output=True, text=True)
            if synced.returncode != 0:
                raise SystemExit(synced.stderr)
            from mlflow import MlflowClient

            MlflowClient(tracking_uri=server.uri, registry_uri=server.uri).set_prompt_alias(NAME, "production", 1)

            ph_import = medians(args.runs, PH_IMPORT, repo, base)[0]
            ml_import = medians(args.runs, ML_IMPORT, repo, base)[0]
            ph_first, ph_first_total = medians(args.runs, PH_FIRST.replace("SOURCE", "'registry'").replace("IMPORT_MLFLOW", "import mlflow"), repo, registry)
            ml_first, ml_first_total = medians(args.runs, ML_FIRST, repo, registry)
            ph_warm, ph_warm_key, ml_warm = child(WARM, repo, registry, str(args.warm_calls))
            files_first, files_total = medians(args.runs, PH_FIRST.replace('env="production"', "").replace("SOURCE", "'lock'").replace("IMPORT_MLFLOW", ""), repo, base)

            down = {**base, "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{free_port()}"}  # nothing listens there
            pinned = {**down, f"PROMPT_{NAME.upper()}_VERSION": "1.0.0"}
            ph_down_pinned = down_run(PH_DOWN, repo, pinned, args.down_cap)
            ph_down = down_run(PH_DOWN, repo, down, args.down_cap)
            ml_down = down_run(ML_DOWN, repo, down, args.down_cap)
        finally:
            server.stop()

    print(f"One prompt, local `mlflow server` (sqlite); cold figures: median of {args.runs} fresh processes; warm: median of {args.warm_calls:,} calls.")
    print()
    print("| | prompthooks.load | mlflow.genai.load_prompt |")
    print("|---|---:|---:|")
    print(f"| import (`from prompthooks import load` / `import mlflow`) | {ms(ph_import)} | {ms(ml_import)} |")
    print(f"| first load from the registry, after `import mlflow` | {ms(ph_first)} | {ms(ml_first)} |")
    print(f"| first load from the registry, whole process with the imports | {ms(ph_first_total)} | {ms(ml_first_total)} |")
    print(f"| warm load (cached), `env=\"production\"` | {ph_warm / 1000:.1f} µs | {ml_warm / 1000:.1f} µs |")
    print(f"| warm load with an A/B `key=` | {ph_warm_key / 1000:.1f} µs | — |")
    print(f"| cold load from files (no registry), import included | {ms(files_total)} (load {ms(files_first)}) | — |")
    print(f"| registry down, version pinned by `PROMPT_{NAME.upper()}_VERSION`, nothing cached | {ph_down_pinned} | — |")
    print(f"| registry down, `env=\"production\"`, nothing cached | {ph_down} | {ml_down} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
