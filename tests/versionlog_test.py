"""Every version that ever appeared in the lock, in order: what reading every lock whole, oldest first, says."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from prompthooks import lockfile, versionlog
from prompthooks.errors import FatalError
from testing import synthetic
from tests.helpers.repos import GitRepo


def _every_lock_read_whole(repo: GitRepo) -> list[tuple[str, str, str]]:
    """The (name, version, commit) records the way ``all_versions`` used to find them: each lock parsed whole."""
    seen: set[tuple[str, str]] = set()
    records = []
    for commit in repo.git("rev-list", "--reverse", "HEAD", "--", "prompts.lock").split():
        raw = subprocess.run(["git", "show", f"{commit}:prompts.lock"], cwd=repo.root, capture_output=True, check=False).stdout
        try:
            entries = lockfile.parse(raw, commit)
        except FatalError:
            continue
        for name, entry in sorted(entries.items()):
            if (name, entry.version) not in seen:
                seen.add((name, entry.version))
                records.append((name, entry.version, commit))
    return records


def test_a_long_history_gives_the_versions_every_lock_gives(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    synthetic.build_history(root, 15, 120, fork_back=20, fork_commits=2)
    repo = GitRepo(root)
    repo.git("merge", "-q", "--no-ff", "-X", "theirs", "-m", "merge the feature", "feature")
    found = [(record.name, record.entry.version, record.commit.sha) for record in versionlog.all_versions(str(root))]
    assert found == _every_lock_read_whole(repo)
    assert len(found) >= 15 + 119  # the feature's bumps give versions main also gave: the first one counts


def test_an_unreadable_lock_in_history_is_skipped_with_a_warning(broken_history: tuple[GitRepo, list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    repo, commits = broken_history
    found = [(record.name, record.entry.version, record.commit.sha) for record in versionlog.all_versions(str(repo.root))]
    assert found == _every_lock_read_whole(repo)
    assert [version for name, version, _ in found if name == "a"] == ["1.0.0", "1.0.1", "1.0.2"]
    assert capsys.readouterr().err.startswith(f"{commits[2][:12]}:prompts.lock:")
