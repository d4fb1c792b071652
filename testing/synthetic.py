"""Repositories for the benchmarks: prompts as a team writes them, and long lock histories written by ``git fast-import``.

Every commit of a history edits one prompt (round robin), bumps its version and
carries the lock the hook writes for it, so each one touches ``prompts.lock``;
the prompts are Jinja templates with YAML front matter, stamped as the hook
stamps them.  ``prompthooks check`` passes at every commit.
"""

from __future__ import annotations

import copy
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Final

from prompthooks import frontmatter, lockfile, promptfile, versioning
from prompthooks.records import LockEntry

TEMPLATE: Final = """{{#
name: prompt_{i:05d}
description: Generated prompt number {i} for the benchmark.
model_config:
  model: gpt-4o-mini
  temperature: 0.{t}
#}}
You are assistant {i}. Answer the question about {{{{ topic }}}} using the facts.
{{% for fact in facts %}}- {{{{ fact }}}}
{{% endfor %}}
Question: {{{{ question }}}}
"""
COMPOSED_INCLUDE: Final = '{% include "_rules.j2" %}\n'


def prompt_path(i: int) -> str:
    return f"prompts/team{i % 20:02d}/prompt_{i:05d}.jinja2"


def prompt_text(i: int, revision: int = 0, composed: bool = False, branch: str = "main") -> str:
    text = TEMPLATE.format(i=i, t=i % 10)
    if composed:  # every prompt includes its team's fragment: dependency tracking on every file
        text = text.replace("#}\n", "#}\n" + COMPOSED_INCLUDE, 1)
    return text if revision == 0 else text + f"Revision {revision} on {branch}.\n"


def git_environment() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    env.update(GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="b@example.com", GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="b@example.com")
    return env


def git(repo: Path, *args: str) -> str:
    """``git`` for a benchmark: never a background ``gc --auto`` (the benchmarks pack when they mean to, and time the rest)."""
    return subprocess.run(["git", "-c", "gc.auto=0", *args], cwd=repo, env=git_environment(), check=True, capture_output=True, text=True).stdout


def write_prompts(repo: Path, size: int, composed: bool = False) -> None:
    """``size`` prompts in the working tree, 20 team folders, without versions: what a team adopting the hook has."""
    for i in range(size):
        target = repo / prompt_path(i)
        target.parent.mkdir(parents=True, exist_ok=True)
        if composed:
            (target.parent / "_rules.j2").write_text(f"Rules of team {i % 20}: be concise.\n")
        target.write_text(prompt_text(i, composed=composed))


class History:
    """The prompts and the lock as the hook leaves them after each commit, for ``git fast-import``."""

    def __init__(self, prompts: int) -> None:
        self.branch = "main"
        self.files: dict[str, bytes] = {}
        self.entries: dict[str, LockEntry] = {}
        self.chunks: lockfile.ChunkCache = {}
        self.revisions = [0] * prompts
        for i in range(prompts):
            self.edit(i, "1.0.0")

    def edit(self, i: int, version: str | None = None) -> str:
        """Give prompt ``i`` a new revision and the version the hook would (a patch bump); its path."""
        path, name = prompt_path(i), f"prompt_{i:05d}"
        if version is None:
            self.revisions[i] += 1
            version = str(versioning.bump(versioning.parse_version(self.entries[name].version), versioning.Increment.PATCH))
        text = prompt_text(i, self.revisions[i], branch=self.branch)
        loaded = promptfile.load(text.encode(), path)
        assert loaded.document.front_matter is not None
        raw = frontmatter.stamp(text, loaded.document.front_matter, path, version=version, drop_bump=False).encode()
        record = promptfile.read(raw, path, self.entries.get(name))
        self.files[path] = raw
        self.entries[name] = LockEntry(path, version, record.hash, record.variables, record.optional)
        return path

    def lock(self) -> bytes:
        return lockfile.render(self.entries, self.chunks)

    def fork(self, branch: str) -> History:
        """This state, to go on on another branch."""
        forked = copy.deepcopy(self)
        forked.branch = branch
        return forked

    def commands(self, commits: int, first: int = 0, start: str | None = None) -> Iterator[bytes]:
        """fast-import commands for ``commits`` commits on this branch (from ``start``, else a new root)."""
        branch = self.branch
        for number in range(first, first + commits):
            changed = list(self.files) if number == 0 else [self.edit(number % len(self.revisions))]
            message = f"change {number}".encode()
            yield b"commit refs/heads/" + branch.encode() + b"\n"
            yield b"committer bench <b@example.com> %d +0000\n" % (1_700_000_000 + number * 60)
            yield _data(message)
            if number == first and start is not None:
                yield b"from " + start.encode() + b"\n"
            for path in changed:
                yield b"M 100644 inline " + path.encode() + b"\n" + _data(self.files[path])
            yield b"M 100644 inline prompts.lock\n" + _data(self.lock())


def _data(text: bytes) -> bytes:
    return b"data %d\n" % len(text) + text + b"\n"


def fast_import(repo: Path, commands: Iterator[bytes]) -> None:
    process = subprocess.Popen(["git", "fast-import", "--quiet"], cwd=repo, env=git_environment(), stdin=subprocess.PIPE)
    stdin: BinaryIO = process.stdin  # type: ignore[assignment]
    for command in commands:
        stdin.write(command)
    stdin.close()
    if process.wait() != 0:
        raise SystemExit("git fast-import failed")


def _commands(prompts: int, commits: int, fork_back: int, fork_commits: int, pr_commits: int) -> Iterator[bytes]:
    history = History(prompts)
    yield from history.commands(commits - fork_back)
    if fork_back:
        yield from history.fork("feature").commands(fork_commits, commits, "refs/heads/main")
        yield from history.commands(fork_back, commits - fork_back)
    if pr_commits:
        yield from history.fork("pr").commands(pr_commits, commits + fork_commits, "refs/heads/main")


def build_history(repo: Path, prompts: int, commits: int, *, fork_back: int = 0, fork_commits: int = 0, pr_commits: int = 0) -> None:
    """A repository whose ``main`` has ``commits`` commits, each touching ``prompts.lock``; checked out, and packed.

    ``fork_back``: also a branch ``feature`` forked that many commits back, with ``fork_commits`` of its own;
    ``pr_commits``: a branch ``pr`` of that many commits on top of ``main``, as a pull request.
    Packed as a server packs what a clone gets (``git repack -adf``: deltas between versions).
    """
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    fast_import(repo, _commands(prompts, commits, fork_back, fork_commits, pr_commits))
    git(repo, "repack", "-adfq")
    git(repo, "checkout", "-q", "main")
