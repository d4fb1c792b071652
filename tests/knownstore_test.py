"""The last known state comes back exactly as kept, whether kept whole or as a patch on a whole one."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from prompthooks import knownstore
from prompthooks.cache import Cache
from prompthooks.inputs import pack_stats
from prompthooks.knownstore import CACHE_FILE, MOST_PATCHED, PATCH_FILE, Known


def _lock(tables: int, changed: int = -1, version: str = "1.0.1") -> bytes:
    return b"".join(
        f'[prompts.p{index}]\npath = "prompts/p{index}.jinja2"\nversion = "{version if index == changed else "1.0.0"}"\n\n'.encode() for index in range(tables)
    )


def _state(files: int = 500, changed: int = -1, *, head: str = "a" * 40, passed: bool = True) -> Known:
    paths = "\0".join(f"prompts/p{index}.jinja2" for index in range(files))
    stats = pack_stats([value for index in range(files) for value in (1_700_000_000 * 10**9 + (index == changed), 1, 100 + index, index)])
    racy: dict[str, bytes | None] = {f"prompts/p{changed}.jinja2": b"stamped\n"} if changed >= 0 else {}
    return Known(("prompts.lock",), head, paths, stats, (), (), _lock(files, changed), "b" * 40, passed, {}, racy, None)


def _fresh(tmp_path: Path) -> Cache:
    """The cache as a new hook process sees it."""
    return Cache(str(tmp_path / "prompthooks"))


def test_a_state_on_top_of_the_loaded_one_is_kept_as_a_small_patch_and_loads_back_equal(tmp_path: Path) -> None:
    knownstore.store(_fresh(tmp_path), _state())
    cache = _fresh(tmp_path)
    assert knownstore.load(cache) == _state()
    edited = _state(changed=7, head="c" * 40, passed=False)
    knownstore.store(cache, edited)
    patch = tmp_path / "prompthooks" / PATCH_FILE
    assert patch.exists() and patch.stat().st_size < 1000 < (tmp_path / "prompthooks" / CACHE_FILE).stat().st_size
    assert knownstore.load(_fresh(tmp_path)) == edited
    cache = _fresh(tmp_path)
    assert knownstore.load(cache) == edited
    again = _state(changed=9)  # the next run's state: a patch on the same whole one, not on the patched one
    knownstore.store(cache, again)
    assert patch.stat().st_size < 1000
    assert knownstore.load(_fresh(tmp_path)) == again


def test_a_patch_is_never_applied_to_another_whole_state(tmp_path: Path) -> None:
    knownstore.store(_fresh(tmp_path), _state())
    cache = _fresh(tmp_path)
    knownstore.load(cache)
    knownstore.store(cache, _state(changed=3))
    stale = (tmp_path / "prompthooks" / PATCH_FILE).read_bytes()
    other = _state(files=600)  # another set of files: kept whole, with a token of its own
    knownstore.store(_fresh(tmp_path), other)
    assert not (tmp_path / "prompthooks" / PATCH_FILE).exists()
    (tmp_path / "prompthooks" / PATCH_FILE).write_bytes(stale)  # a concurrent run's patch, on the whole state replaced
    assert knownstore.load(_fresh(tmp_path)) == other


@pytest.mark.parametrize(
    "changed",
    [
        lambda state: state._replace(paths=state.paths + "\0prompts/new.jinja2", stats=state.stats + pack_stats([1, 1, 1, 1])),
        lambda state: state._replace(lock=os.urandom(MOST_PATCHED + 1)),
        lambda state: state._replace(racy={"prompts/p0.jinja2": os.urandom(MOST_PATCHED)}),
    ],
    ids=["other files", "a lock rewritten", "large stamps"],
)
def test_a_large_change_is_kept_whole(tmp_path: Path, changed: object) -> None:
    knownstore.store(_fresh(tmp_path), _state())
    cache = _fresh(tmp_path)
    knownstore.load(cache)
    state = changed(_state())  # type: ignore[operator]
    knownstore.store(cache, state)
    assert not (tmp_path / "prompthooks" / PATCH_FILE).exists()
    assert knownstore.load(_fresh(tmp_path)) == state


def test_a_damaged_patch_gives_no_state(tmp_path: Path) -> None:
    knownstore.store(_fresh(tmp_path), _state())
    cache = _fresh(tmp_path)
    knownstore.load(cache)
    knownstore.store(cache, _state(changed=1))
    token = cache.load(PATCH_FILE)[0]
    cache.store(PATCH_FILE, (token, {"lock": (10, 5, b"x")}))
    assert knownstore.load(_fresh(tmp_path)) is None


def test_no_state_at_all_is_none_and_a_state_is_then_kept_whole(tmp_path: Path) -> None:
    cache = _fresh(tmp_path)
    assert knownstore.load(cache) is None
    knownstore.store(cache, _state())
    assert (tmp_path / "prompthooks" / CACHE_FILE).exists() and not (tmp_path / "prompthooks" / PATCH_FILE).exists()
    assert knownstore.load(_fresh(tmp_path)) == _state()


@pytest.mark.parametrize("seed", range(20))
def test_a_splice_turns_the_old_bytes_into_the_new(seed: int) -> None:
    rng = random.Random(seed)
    old = rng.randbytes(rng.randint(0, 300))
    new = bytearray(old)
    for _ in range(rng.randint(0, 3)):
        at = rng.randint(0, len(new))
        new[at : at + rng.randint(0, 20)] = rng.randbytes(rng.randint(0, 20))
    start, end, middle = knownstore.splice(old, bytes(new))
    assert knownstore.spliced(old, (start, end, middle)) == bytes(new)
    assert old[:start] == new[:start] and len(middle) <= len(new)


def test_the_lock_on_disk_is_the_states_own_object_when_it_is_the_states_lock(tmp_path: Path) -> None:
    knownstore.store(_fresh(tmp_path), _state())
    cache = _fresh(tmp_path)
    knownstore.load(cache)
    edited = _state(changed=4)
    knownstore.store(cache, edited)
    on_disk = bytes(bytearray(edited.lock))  # equal, not the same object
    loaded = knownstore.load(_fresh(tmp_path), on_disk)
    assert loaded == edited and loaded is not None and loaded.lock is on_disk
    other = _state(changed=5).lock  # the lock changed since: the state keeps its own
    loaded = knownstore.load(_fresh(tmp_path), other)
    assert loaded == edited and loaded is not None and loaded.lock is not other


@pytest.mark.parametrize("seed", range(20))
def test_splices_into_says_what_spliced_gives(seed: int) -> None:
    rng = random.Random(seed)
    old, new = rng.randbytes(rng.randint(0, 50)), rng.randbytes(rng.randint(0, 50))
    splice = knownstore.splice(old, new)
    candidates = [new, old, new[:-1], new + b"x", bytes(reversed(new))]
    for candidate in candidates:
        assert knownstore.splices_into(old, splice, candidate) == (knownstore.spliced(old, splice) == candidate)
    assert not knownstore.splices_into(old, (len(old) + 1, len(old) + 1, b""), old)


def test_whether_the_last_state_passed_is_read_without_the_state(tmp_path: Path) -> None:
    assert not knownstore.passed(_fresh(tmp_path))
    knownstore.store(_fresh(tmp_path), _state(passed=True))
    assert knownstore.passed(_fresh(tmp_path))
    cache = _fresh(tmp_path)
    knownstore.load(cache)
    knownstore.store(cache, _state(changed=2, passed=False))
    assert not knownstore.passed(_fresh(tmp_path))
