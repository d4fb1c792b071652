"""The cold hook path (no cache, as on a fresh CI clone): what is parsed, and that it stays exact."""

from __future__ import annotations

import pytest

from prompthooks import lockfile, tomlread, variables
from tests.helpers.hook import run, write_locked
from tests.helpers.repos import GitRepo, counting

TEMPLATE = "{{#\nname: p{i}\n#}}\nAnswer {{{{ question }}}} about {{{{ topic_{i} }}}}.\n{{% for fact in facts %}}- {{{{ fact }}}}\n{{% endfor %}}\n"


@pytest.fixture
def locked(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> GitRepo:
    write_locked(capsys, repo, {f"prompts/p{i}.jinja2": TEMPLATE.format(i=i) for i in range(30)})
    lockfile._DOCUMENTS.clear()  # a fresh process: nothing read yet
    lockfile._ENTRIES.clear()
    return repo


def test_an_unchanged_repository_analyses_no_template_and_needs_no_toml_parser(
    locked: GitRepo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    analysed = counting(monkeypatch, variables, "analyse")
    scanned = counting(monkeypatch, lockfile, "_loads")
    parsed = counting(monkeypatch, tomlread, "loads")
    assert run(capsys, "check", "--no-cache") == (0, "", "")
    assert analysed == []  # every file's hash equals HEAD's lock: the interface recorded there is its own
    assert len(scanned) == 1  # HEAD's lock and the one on disk are the same bytes, read once
    assert parsed == []  # read in the form it was written; the rendered lock is those bytes again: nothing to read back


def test_a_changed_file_is_analysed_in_full(locked: GitRepo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    analysed = counting(monkeypatch, variables, "analyse")
    locked.write("prompts/p3.jinja2", TEMPLATE.format(i=3) + "Tone: {{ tone }}\n")
    code, out, _ = run(capsys, "check", "--no-cache")
    assert code == 1
    assert [call[1] for call in analysed] == ["prompts/p3.jinja2"]
    assert "p3: prompts.lock has 1.0.0" in out and "the prompt needs 2.0.0 (major: adds variable tone" in out


def test_the_interface_is_reused_only_for_the_same_path_and_hash(
    locked: GitRepo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # p5 moves to p0's path and p0 goes away: p0's lock entry has the path, not the hash; p5's the hash, not the path.
    locked.git("mv", "-f", "prompts/p5.jinja2", "prompts/p0.jinja2")
    analysed = counting(monkeypatch, variables, "analyse")
    code, _, _ = run(capsys, "lock", "--no-cache")
    assert code == 1
    assert [call[1] for call in analysed] == ["prompts/p0.jinja2"]
    entries = lockfile.parse(locked.read("prompts.lock"), "prompts.lock")
    assert entries["p5"].variables == ("facts", "question", "topic_5") and entries["p5"].path == "prompts/p0.jinja2"
    assert "p0" not in entries


def test_a_lock_without_recorded_variables_is_analysed(repo: GitRepo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    write_locked(capsys, repo, {"prompts/a.jinja2": "Hi {{ who }}\n"})
    old_style = b"\n".join(line for line in repo.read("prompts.lock").split(b"\n") if not line.startswith((b"variables", b'    "', b"]")))
    repo.write("prompts.lock", old_style)
    repo.commit("an older lock, without variables")
    analysed = counting(monkeypatch, variables, "analyse")
    code, _, _ = run(capsys, "check", "--no-cache")
    assert code == 1  # the lock lacks the variables it should record
    assert [call[1] for call in analysed] == ["prompts/a.jinja2"]


def test_a_file_that_may_use_another_template_is_analysed_for_its_references(
    repo: GitRepo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Locked without dependencies (the include is absent and allowed to be), but a reference all the same.
    write_locked(capsys, repo, {"prompts/uses.jinja2": 'Hi {{ who }}\n{% include "prompts/_part.j2" ignore missing %}\n'})
    assert lockfile.parse(repo.read("prompts.lock"), "prompts.lock")["uses"].dependencies == ()
    analysed = counting(monkeypatch, variables, "analyse")
    assert run(capsys, "check", "--no-cache")[0] == 0
    assert [call[1] for call in analysed] == ["prompts/uses.jinja2"]  # references feed the dependency graph: never taken from the lock


def test_a_hand_edited_lock_with_the_same_meaning_is_rewritten(locked: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    written = locked.read("prompts.lock")
    locked.write("prompts.lock", written.replace(b"\n[prompts.p1]\n", b"\n# a note\n[prompts.p1]\n"))
    code, _, _ = run(capsys, "lock", "--no-cache")
    assert code == 1
    assert locked.read("prompts.lock") == written
    assert run(capsys, "lock", "--no-cache")[0] == 0  # and a second run changes nothing


def test_a_changed_lock_reads_its_new_tables_back_once(locked: GitRepo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    locked.write("prompts/p3.jinja2", TEMPLATE.format(i=3) + "More.\n")
    read_back = counting(monkeypatch, lockfile, "_loads")
    assert run(capsys, "lock", "--no-cache")[0] == 1
    assert len(read_back) == 2  # the lock at HEAD (also the one on disk), then the new [prompts.p3] table
