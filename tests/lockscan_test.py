"""The fast lock reader returns what tomllib returns, or gives up."""

from __future__ import annotations

import random

import pytest

from prompthooks import lockfile, lockscan
from prompthooks.records import FragmentEntry, LockEntry
from prompthooks.tomlread import tomllib  # tomli before Python 3.11


def _entries(count: int = 6) -> dict[str, LockEntry]:
    return {
        f"p{i}" if i % 3 else f"team.p-{i}": LockEntry(
            f"prompts/é{i}.md",
            f"1.{i}.0",
            f"sha256:{i:064x}",
            None if i == 4 else tuple(f"v{j}" for j in range(i % 3)),
            ("tone",) if i == 2 else (),
            ("prompts/_rules.j2",) if i == 1 else (),
        )
        for i in range(count)
    }


def _lock(count: int = 6) -> bytes:
    fragments = {"prompts/_rules.j2": FragmentEntry(f"sha256:{7:064x}"), "prompts/a b/_x.j2": FragmentEntry(f"sha256:{8:064x}", ("prompts/_rules.j2",))}
    return lockfile.render(_entries(count), fragments=fragments, retired={"gone": "2.0.0", "team.old": "1.0.0"})


def _agrees(raw: bytes) -> bool:
    """False when the scanner gave up; otherwise it must equal tomllib's reading."""
    found = lockscan.scan(raw)
    if found is None:
        return False
    assert found == tomllib.loads(raw.decode()), raw
    return True


def test_a_lock_as_written_is_read_without_toml() -> None:
    raw = _lock()
    assert _agrees(raw)
    assert lockfile.parse_with_retired(raw, "prompts.lock") == (_entries(), {"gone": "2.0.0", "team.old": "1.0.0"})
    assert set(lockfile.parse_fragments(raw, "prompts.lock")) == {"prompts/_rules.j2", "prompts/a b/_x.j2"}


def test_this_repositorys_lock_is_read_without_toml() -> None:
    with open("prompts.lock", "rb") as file:
        assert _agrees(file.read())


@pytest.mark.parametrize(
    "raw",
    [
        b'a = "x"\r\n',  # CRLF
        b'a = "x\\ty"\n',  # an escape
        b'a = "x\ty"\n',  # a raw tab: valid TOML, left to tomllib
        b"a = 01\n",
        b'a = "x"\na = "y"\n',  # a duplicate key: tomllib's error, not ours
        b'a = "x"\n"a" = "y"\n',  # the same key, quoted
        b'[prompts.a]\nx = "1"\n[prompts.a]\ny = "2"\n',
        b'[prompts.a]\nx = "1"\n[prompts."a"]\ny = "2"\n',
        b'[retired]\na = "1"\n[retired]\nb = "2"\n',
        b'retired = "x"\n[retired]\n',
        b'prompts = "x"\n[prompts.a]\n',
        b'[prompts.a]\nv = [\n    "x",\n',  # an array never closed
        b'[prompts.a]\nv = [\n    "x"\n]\n',  # no trailing comma: valid TOML, not the written form
        b"[prompts]\n[prompts.a]\n",
        b"[prompts.a.b]\n",
        b"[other.a]\n",
        b'a.b = "x"\n',
        b' a = "x"\n',
        b'a = "x" # note\n',
        b'\xef\xbb\xbfa = "x"\n',
        b'a = "\xff"\n',
    ],
)
def test_anything_else_is_left_to_a_toml_parser(raw: bytes) -> None:
    assert lockscan.scan(raw) is None


def test_mutated_locks_are_read_as_tomllib_reads_them_or_not_at_all() -> None:
    generator = random.Random(12)
    raw = _lock()
    alphabet = [b'"', b"\\", b"\n", b" ", b"[", b"]", b",", b"=", b"#", b".", b"a", b"1", b"\t", b"\r", b"\x7f", "é".encode()]
    accepted = 0
    for _ in range(3000):
        mutated = bytearray(raw)
        for _ in range(generator.randint(1, 3)):
            at = generator.randrange(len(mutated))
            choice = generator.random()
            if choice < 0.4:
                mutated[at : at + 1] = generator.choice(alphabet)
            elif choice < 0.7:
                del mutated[at : at + generator.randint(1, 8)]
            else:
                mutated[at:at] = generator.choice(alphabet)
        data = bytes(mutated)
        try:
            expected = tomllib.loads(data.decode())
        except (UnicodeDecodeError, tomllib.TOMLDecodeError):
            assert lockscan.scan(data) is None, data
            continue
        found = lockscan.scan(data)
        if found is not None:
            accepted += 1
            assert found == expected, data
    assert accepted > 100  # the comparison saw many accepted variants, not only refusals
