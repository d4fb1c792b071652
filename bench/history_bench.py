"""Time `prompthooks log` and `show` on a repository whose prompts.lock changed in N commits.

    python bench/history_bench.py [--commits 1000] [--prompts 20] [--runs 5]

The history is written with `git fast-import`: each commit edits one of the
prompts (round robin) and carries the lock prompthooks computes for it, so
every commit touches prompts.lock.  Prints the median wall time of each
command as a whole process.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from prompthooks import lockfile, lockplan, promptfile
from prompthooks.config import DEFAULT
from prompthooks.records import PromptFile

PROMPTHOOKS = str(Path(sys.executable).with_name("prompthooks"))


def _data(text: bytes) -> bytes:
    return b"data %d\n" % len(text) + text + b"\n"


def fast_import_stream(commits: int, prompts: int) -> bytes:
    files: dict[str, bytes] = {f"prompts/p{i:02d}.md": f"Prompt {i}, revision 0: answer {{{{ q }}}}.\n".encode() for i in range(prompts)}
    records: dict[str, PromptFile] = {path: promptfile.read(raw, path) for path, raw in files.items()}
    entries: dict[str, lockfile.LockEntry] = {}
    out = bytearray()
    for number in range(commits):
        changed = list(files) if number == 0 else [f"prompts/p{number % prompts:02d}.md"]
        if number:
            path = changed[0]
            files[path] = f"Prompt {path}, revision {number}: answer {{{{ q }}}}.\n".encode()
            records[path] = promptfile.read(files[path], path)
        entries = lockplan.plan(sorted(records.items()), entries, DEFAULT).entries
        lock = lockfile.render(entries)
        stamp = 1_700_000_000 + number * 60
        message = f"change {number}".encode()
        out += b"commit refs/heads/main\n"
        out += b"committer Bench <bench@example.com> %d +0000\n" % stamp
        out += _data(message)
        for path in changed:
            out += b"M 100644 inline " + path.encode() + b"\n" + _data(files[path])
        out += b"M 100644 inline prompts.lock\n" + _data(lock)
    return bytes(out)


def median_seconds(command: list[str], cwd: Path, runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, cwd=cwd, check=True, capture_output=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=1000)
    parser.add_argument("--prompts", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="prompthooks-history-bench-") as temp:
        repo = Path(temp)
        subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
        subprocess.run(["git", "fast-import", "--quiet"], cwd=repo, input=fast_import_stream(args.commits, args.prompts), check=True)
        subprocess.run(["git", "checkout", "-q", "main"], cwd=repo, check=True)
        versions = subprocess.run([PROMPTHOOKS, "log", "p00"], cwd=repo, capture_output=True, text=True, check=True).stdout.splitlines()
        oldest = versions[-1].split()[0]
        print(f"{args.commits:,} commits touching prompts.lock, {args.prompts} prompts; p00 has {len(versions)} versions")
        print()
        print("| command | median wall time |")
        print("|---|---:|")
        for command in (["log", "p00"], ["log", "p00", "--json"], ["show", "p00"], ["show", f"p00@{oldest}"]):
            seconds = median_seconds([PROMPTHOOKS, *command], repo, args.runs)
            print(f"| `prompthooks {' '.join(command)}` | {seconds * 1000:.0f} ms |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
