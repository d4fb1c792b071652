"""Rendering the lock: tomli-w writes each table once, and what it wrote is read back before it is trusted."""

from __future__ import annotations

import pytest

from prompthooks import lockfile
from tests.helpers.repos import counting

ENTRIES = {f"n{i}": lockfile.LockEntry(f"p/{i}.md", "1.0.0", f"sha256:{i:064x}", ("a", "b")) for i in range(5)}


def test_render_reads_back_only_what_no_reading_proved(monkeypatch: pytest.MonkeyPatch) -> None:
    entries = ENTRIES
    chunks: lockfile.ChunkCache = {}
    rendered = lockfile.render(entries, chunks, retired={"old": "1.0.0"})
    assert lockfile.parse_with_retired(rendered, "x") == (entries, {"old": "1.0.0"})
    read_back = counting(monkeypatch, lockfile, "_loads")
    assert lockfile.render(entries, None, retired={"old": "1.0.0"}) == rendered
    assert read_back == []  # the result is a lock already read into this very document
    assert lockfile.render({**entries, "n0": entries["n0"]._replace(version="1.0.1")}, chunks) != rendered
    assert len(read_back) == 1  # only the one new table


def test_a_round_trip_that_changes_a_table_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import tomli_w

    monkeypatch.setattr(tomli_w, "dumps", lambda document: '[prompts.x]\npath = "elsewhere"\nversion = "1.0.0"\nhash = "h"\n')
    chunks: lockfile.ChunkCache = {}
    with pytest.raises(AssertionError, match="round trip"):
        lockfile.render({"x": lockfile.LockEntry("p.md", "1.0.0", "h")}, chunks)
    assert list(chunks) == [lockfile.PREAMBLE_KEY]  # nothing unproven is kept


def test_tables_written_elsewhere_are_read_back_unless_the_lock_already_read_proves_them(monkeypatch: pytest.MonkeyPatch) -> None:
    rendered = lockfile.render(ENTRIES)
    drafts = {lockfile.chunk_key(name, entry): lockfile.table_text((name, entry)) for name, entry in ENTRIES.items()}
    lockfile.parse(rendered, "prompts.lock")  # the lock on disk, read
    read_back = counting(monkeypatch, lockfile, "_loads")
    assert lockfile.render(ENTRIES, {}, drafts=drafts) == rendered
    assert read_back == []
    changed = {**ENTRIES, "n1": ENTRIES["n1"]._replace(version="2.0.0")}
    drafts[lockfile.chunk_key("n1", changed["n1"])] = lockfile.table_text(("n1", changed["n1"]))
    assert lockfile.parse(lockfile.render(changed, {}, drafts=drafts), "x") == changed
    assert len(read_back) == 2  # the new lock is no lock read before: its tables, read back together (and the parse)


def test_a_draft_that_does_not_say_its_entry_is_refused() -> None:
    lying = {lockfile.chunk_key(name, entry): lockfile.table_text((name, entry._replace(version="9.9.9"))) for name, entry in ENTRIES.items()}
    chunks: lockfile.ChunkCache = {}
    with pytest.raises(AssertionError, match="round trip"):
        lockfile.render(ENTRIES, chunks, drafts=lying)
    assert list(chunks) == [lockfile.PREAMBLE_KEY]
