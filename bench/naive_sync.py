"""The ad-hoc CI script a team writes without prompthooks: one MLflow run per prompt.

    python bench/naive_sync.py TRACKING_URI REPO

For every entry of REPO's prompts.lock: start a run, log the template with
``log_text``, its version and path as params, its hash and commit as tags.
It cannot tell what is already there, so every run logs everything again.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import mlflow
import tomllib


def main() -> int:
    uri, repo = sys.argv[1], Path(sys.argv[2])
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("prompts")
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True).stdout.strip()
    lock = tomllib.loads((repo / "prompts.lock").read_text())
    for name, entry in lock["prompts"].items():
        with mlflow.start_run(run_name=name):
            mlflow.log_text((repo / entry["path"]).read_text(), f"{name}.txt")
            mlflow.log_params({"version": entry["version"], "path": entry["path"]})
            mlflow.set_tags({"hash": entry["hash"], "commit": commit})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
