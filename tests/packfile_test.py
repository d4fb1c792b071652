"""Blobs read out of a pack git wrote are the blobs git stores."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from prompthooks import git, packfile
from testing import synthetic


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("packfile") / "repo"
    synthetic.build_history(root, 20, 120)
    return root


def _lock_blobs(root: Path) -> list[str]:
    return [step.new for step in git.file_steps(str(root), ["HEAD"], "prompts.lock") if step.new is not None]


def test_every_version_of_the_lock_comes_out_as_git_stores_it(history: Path, tmp_path: Path) -> None:
    blobs = _lock_blobs(history)
    path = git.pack_blobs(str(history), blobs, str(tmp_path))
    pack = packfile.Pack(Path(path + ".pack").read_bytes(), Path(path + ".idx").read_bytes(), 20)
    assert all(blob in pack for blob in blobs)
    stored = dict(zip(blobs, git.read_objects(str(history), blobs), strict=True))
    for blob in blobs:  # in history order, as the walk reads them
        found = stored[blob]
        assert found is not None and pack.get(blob) == found[1]
    deltas = subprocess.run(["git", "verify-pack", "-v", path + ".idx"], capture_output=True, text=True, check=True).stdout
    assert "chain length" in deltas  # git kept its deltas: the pack is versions' differences, not whole versions


def test_a_delta_is_copies_and_inserts_of_its_base() -> None:
    base = b"0123456789"
    # source size 10, target size 7: copy 4 bytes from offset 2, insert "xyz"
    delta = bytes([10, 7, 0x80 | 0x01 | 0x10, 2, 4, 3]) + b"xyz"
    assert packfile.apply_delta(base, delta) == b"2345xyz"
    with pytest.raises(packfile.PackError):
        packfile.apply_delta(b"short", delta)  # a delta for another base
    with pytest.raises(packfile.PackError):
        packfile.apply_delta(base, bytes([10, 7, 0]))  # reserved command
    with pytest.raises(packfile.PackError):
        packfile.Pack(b"not a pack", b"\377tOc\0\0\0\2" + bytes(1024), 20)
