"""Reading a lock from what changed says what reading it whole says, or declines."""

from __future__ import annotations

import random

import pytest

from prompthooks import lockdelta, lockfile
from prompthooks.records import LockEntry

ENTRIES = {f"p{i:02d}": LockEntry(f"prompts/p{i:02d}.md", f"1.0.{i}", f"sha256:{i:064x}", ("a", "b") if i % 2 else ()) for i in range(12)}
OLD = lockfile.render(ENTRIES, retired={"gone": "2.0.0"})


def _replace(raw: bytes, old: str, new: str) -> bytes:
    assert old.encode() in raw
    return raw.replace(old.encode(), new.encode(), 1)


def test_a_regular_lock_is_derivable_and_one_in_another_form_is_not() -> None:
    assert lockdelta.read(OLD, "x") == lockdelta.Read(ENTRIES, True)
    inline = b'lock-version = 1\nhash-scheme = "sha256:utf8-lf-body+json-metadata/1"\nprompts = { a = { path = "a.md", version = "1.0.0", hash = "h" } }\n'
    assert lockdelta.read(inline, "x") == lockdelta.Read({"a": LockEntry("a.md", "1.0.0", "h")}, False)
    unreadable = lockdelta.read(b"<<<<<<< ours\n", "x")
    assert unreadable[:2] == (None, False) and "unresolved merge conflict" in str(unreadable.error)


def test_a_bump_is_read_from_its_table_alone() -> None:
    new = lockfile.render({**ENTRIES, "p05": ENTRIES["p05"]._replace(version="1.0.6", hash="sha256:" + "f" * 64)}, retired={"gone": "2.0.0"})
    assert lockdelta.changed(OLD, new, "x") == {"p05": ENTRIES["p05"]._replace(version="1.0.6", hash="sha256:" + "f" * 64)}


@pytest.mark.parametrize(
    ("old", "new", "why"),
    [
        ("hash-scheme", "hash-schemes", "the preamble changed"),
        ('[prompts.p07]\npath = "prompts/p07.md"', '[prompts.p03]\npath = "prompts/p07.md"', "p03 is now there twice"),
        ('[prompts.p07]\npath = "prompts/p07.md"', '[prompts."p03"]\npath = "prompts/p07.md"', "p03 twice, spelled two ways"),
        ('[prompts.p07]\npath = "prompts/p07.md"', '[prompts.p07]\npath = 7', "an entry that is no entry"),
        ('version = "1.0.7"', '<<<<<<< ours\nversion = "1.0.7"', "conflict markers"),
        ('version = "1.0.7"', "version = '1.0.7'", "TOML in another form"),
        ('gone = "2.0.0"', "gone = 2", "a tombstone that is no version"),
        ('[retired]', '[retired]\nx = "1.0.0"\n[retired]', "[retired] twice"),
    ],
)
def test_anything_out_of_the_ordinary_is_left_to_a_whole_reading(old: str, new: str, why: str) -> None:
    assert lockdelta.changed(OLD, _replace(OLD, old, new), "x") is None, why


def test_common_prefix_and_suffix() -> None:
    assert lockdelta.common_prefix(b"abcdef", b"abcxef") == 3
    assert lockdelta.common_suffix(b"abcdef", b"abcxef", 3) == 2
    assert lockdelta.common_prefix(b"abc", b"abcd") == 3
    assert lockdelta.common_suffix(b"xabc", b"abc", 3) == 3
    assert lockdelta.common_prefix(b"", b"a") == 0


MUTATIONS = (
    'version = "9.9.9"',
    'hash = "sha256:' + "e" * 64 + '"',
    '[prompts.p01]\npath = "x.md"\nversion = "1.0.0"\nhash = "h"\n',
    '[prompts."p01"]\npath = "x.md"\nversion = "1.0.0"\nhash = "h"\n',
    '[prompts.new]\npath = "n.md"\nversion = "1.0.0"\nhash = "h"\n',
    '[fragments."prompts/_f.md"]\nhash = "h"\n',
    '[retired]\nx = "1.0.0"\n',
    "variables = [\n",
    '    "c",\n',
    "]\n",
    "dependencies = [\n    \"prompts/_f.md\",\n]\n",
    "\n",
    "# a comment\n",
    "path = 3\n",
    "<<<<<<< ours\n",
    "[prompts.p02\n",
    "lock-version = 9\n",
)


def _mutated(raw: bytes, rng: random.Random) -> bytes:
    text = raw.decode()
    for _ in range(rng.randint(1, 3)):
        lines = text.split("\n")
        at = rng.randrange(len(lines))
        choice = rng.random()
        if choice < 0.4:
            del lines[at : at + rng.randint(1, 6)]
        elif choice < 0.8:
            lines[at:at] = rng.choice(MUTATIONS).rstrip("\n").split("\n")
        else:
            lines[at] = lines[at].replace("1.0", "1.1")
        text = "\n".join(lines)
    return text.encode()


@pytest.mark.parametrize("seed", range(6))
def test_whatever_changed_says_what_a_whole_reading_says(seed: int) -> None:
    rng = random.Random(seed)
    derived = 0
    for _ in range(1000):
        old = OLD if rng.random() < 0.5 else _mutated(OLD, rng)
        before = lockdelta.read(old, "old")
        if not before.derivable:
            continue
        new = _mutated(old, rng)
        found = lockdelta.changed(old, new, "new")
        if found is None:
            continue
        derived += 1
        after = lockdelta.read(new, "new")
        assert after.derivable and after.entries is not None, new.decode()
        assert before.entries is not None
        assert set(after.entries.items()) - set(before.entries.items()) <= set(found.items()) <= set(after.entries.items()), new.decode()
    assert derived > 80  # the comparison was made often enough to mean something
