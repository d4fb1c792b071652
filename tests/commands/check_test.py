from __future__ import annotations

import pytest

from tests.helpers.hook import run, write_locked
from tests.helpers.repos import GitRepo


@pytest.fixture
def locked(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> GitRepo:
    write_locked(capsys, repo, {"prompts/a.md": "---\nname: a\n---\nHello\n", "prompts/b.md": "Bye\n"})
    return repo


def _check(capsys: pytest.CaptureFixture[str], repo: GitRepo) -> tuple[int, list[str]]:
    before = repo.snapshot()
    code, out, err = run(capsys, "check")
    assert err == ""
    assert repo.snapshot() == before  # check never writes
    return code, out.splitlines()


def test_clean_repository_passes(locked: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    assert _check(capsys, locked) == (0, [])


def test_changed_prompt(locked: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    locked.write("prompts/a.md", locked.read("prompts/a.md") + b"More\n")
    code, lines = _check(capsys, locked)
    assert code == 1
    assert lines[0].startswith("prompts/a.md: a: prompts.lock has 1.0.0 sha256:")
    assert "the prompt needs 1.0.1 (patch) sha256:" in lines[0]
    assert lines[1:] == ["prompts/a.md: front matter needs version 1.0.1", "prompthooks: run `prompthooks lock` to update, then stage the changes"]


def test_new_and_removed_prompts(locked: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    locked.write("prompts/c.md", "New\n")
    locked.git("rm", "-q", "prompts/b.md")
    locked.git("add", "-A")
    code, lines = _check(capsys, locked)
    assert code == 1
    assert lines[:2] == [
        "prompts.lock: b: locked at prompts/b.md but no prompt file has this name",
        "prompts/c.md: c: not in prompts.lock (new prompt, version 1.0.0)",
    ]


def test_missing_lock(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write("prompts/a.md", "a\n")
    repo.git("add", "-A")
    assert _check(capsys, repo)[1][0] == "prompts.lock: missing (1 prompt(s) to lock)"


def test_hand_edited_lock(locked: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    lock = locked.read("prompts.lock")
    locked.write("prompts.lock", lock.replace(b'version = "1.0.0"', b'version = "9.0.0"', 1))
    assert _check(capsys, locked)[0] == 1
    locked.write("prompts.lock", lock.replace(b"\n\n[prompts.b]", b"\n\n\n[prompts.b]"))
    assert _check(capsys, locked)[1][0] == "prompts.lock: not in canonical form (was it edited by hand?)"


def test_consumed_bump_left_in_front_matter(locked: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    locked.write("prompts/a.md", b"---\nname: a\nversion: 1.1.0\nbump: minor\n---\nHello again\n")
    lock = locked.read("prompts.lock")
    locked.write("prompts.lock", lock.replace(b'version = "1.0.0"', b'version = "1.1.0"', 1))
    code, lines = _check(capsys, locked)
    assert code == 1
    assert "prompts/a.md: front matter needs version 1.1.0 with its 'bump' consumed" in lines


def test_a_bad_model_setting_fails_with_file_line_and_field(locked: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    locked.write("prompts/a.md", "---\nname: a\nmodel_config:\n  temperature: 0.2\n  max_tokens: 0\n---\nHello\n")
    locked.write("prompts/c.prompty", "---\nname: C\nmodel:\n  parameters:\n    top_p: 2\n    response_format: json\n---\nsystem:\nHi\n")
    locked.git("add", "-A")
    before = locked.snapshot()
    for command in ("check", "lock"):
        code, out, err = run(capsys, command)
        assert (code, out) == (1, "")
        assert err.splitlines() == [
            "prompts/a.md:5: model_config.max_tokens: must be greater than 0, not 0 (MLflow's model settings rules)",
            "prompts/c.prompty:5: model.parameters.top_p: must be at most 1, not 2 (MLflow's model settings rules)",
            "prompts/c.prompty:6: model.parameters.response_format: response_format must be a non-empty mapping "
            "(a JSON schema such as {type: json_object}), not 'json' (MLflow's model settings rules)",
        ]
        assert locked.snapshot() == before  # nothing written
