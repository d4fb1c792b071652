from __future__ import annotations

import shutil
from pathlib import Path

import prompty
import pytest

from prompthooks import promptfile
from prompthooks.errors import FatalError
from prompthooks.main import main
from tests.helpers.repos import PROJECT_ROOT, GitRepo


def test_version_and_bump_do_not_enter_the_hash() -> None:
    plain = promptfile.read(b"---\nname: a\n---\nHi\n", "a.md")
    stamped = promptfile.read(b"---\nname: a\nversion: 2.0.0\nbump: minor\n---\nHi\n", "a.md")
    assert plain.hash == stamped.hash
    assert (stamped.version, stamped.bump) == ("2.0.0", "minor")


@pytest.mark.parametrize(
    "other",
    [
        b"---\nname: a\n---\nHi!\n",
        b"---\nname: a\ntemperature: 0.1\n---\nHi\n",
        b"---\nname: b\n---\nHi\n",
    ],
)
def test_body_and_metadata_enter_the_hash(other: bytes) -> None:
    assert promptfile.read(b"---\nname: a\n---\nHi\n", "a.md").hash != promptfile.read(other, "a.md").hash


def test_windows_checkout_hashes_like_linux() -> None:
    linux = promptfile.read(b"---\nname: a\nmodel: {t: 1, m: 2}\n---\nOne\nTwo\n", "a.md")
    windows = promptfile.read(b"\xef\xbb\xbf---\r\nname: a\r\nmodel:\r\n  m: 2\r\n  t: 1\r\n---\r\nOne\r\nTwo\r\n", "a.md")
    assert linux.hash == windows.hash


def test_dates_in_metadata_hash_stably() -> None:
    assert promptfile.read(b"---\nreviewed: 2026-01-31\n---\nx", "a.md").hash == promptfile.read(b"---\nreviewed: '2026-01-31'\n---\nx", "a.md").hash


def test_prompty_name_is_display_metadata() -> None:
    record = promptfile.read(b"---\nname: Intent Resolution Evaluator\n---\nsystem:\nHi\n", "evals/intent.prompty")
    assert record.name is None


def test_name_must_be_a_string() -> None:
    with pytest.raises(FatalError, match="name must be a string") as raised:
        promptfile.read(b"---\nname: [a]\n---\nx", "a.md")
    assert raised.value.line == 2


def test_stamped_prompty_still_loads_with_prompty(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    source = PROJECT_ROOT / "prompts" / "intent_resolution.prompty"
    target = repo.root / "evals" / "intent_resolution.prompty"
    target.parent.mkdir()
    unstamped = source.read_text().replace("version: 1.0.0\n", "")
    target.write_text(unstamped)
    before = prompty.load(target)
    repo.git("add", "-A")
    assert main(["lock"]) == 1
    assert "intent_resolution: new 1.0.0" in capsys.readouterr().out
    assert target.read_text() == unstamped.replace("name: Intent Resolution Evaluator\n", "name: Intent Resolution Evaluator\nversion: 1.0.0\n")
    after = prompty.load(target)
    assert (after.name, after.description, [i.name for i in after.inputs]) == (before.name, before.description, [i.name for i in before.inputs])
    assert prompty.prepare(after, {"query": "q", "response": "r"}) == prompty.prepare(before, {"query": "q", "response": "r"})


def test_prompty_files_sharing_a_display_name_lock_cleanly(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    source = PROJECT_ROOT / "prompts" / "intent_resolution.prompty"
    for name in ("intent_a.prompty", "intent_b.prompty"):
        shutil.copy(source, Path(repo.root) / name)
    repo.git("add", "-A")
    assert main(["lock"]) == 1
    lock = repo.read("prompts.lock").decode()
    assert "[prompts.intent_a]" in lock and "[prompts.intent_b]" in lock


def test_a_locked_dotprompt_is_still_checked_against_its_declared_inputs() -> None:
    """A fresh clone trusts the lock's variables for unchanged content, but not a Dotprompt's undeclared ones."""
    from prompthooks.hashing import content_hash
    from prompthooks.records import LockEntry

    raw = b"---\ninput:\n  schema:\n    text: string\n---\nSummarize {{text}} in {{style}}.\n"
    hash_ = content_hash(promptfile.load(raw, "p/s.prompt").content)
    with pytest.raises(FatalError, match="variable 'style' is used in the body but not declared"):
        promptfile.read(raw, "p/s.prompt", LockEntry("p/s.prompt", "1.0.0", hash_, ("text",)))
