"""Prompts built from other templates: dependencies locked, hashed and bumped (real git repositories)."""

from __future__ import annotations

import pytest

from prompthooks import lockfile
from prompthooks.records import HASH_SCHEME, HASH_SCHEME_DEPENDENCIES
from tests.helpers.hook import lock_twice, run, write_locked
from tests.helpers.repos import GitRepo

BASE = {
    "prompts/_rules.j2": "Be concise and polite.\n",
    "prompts/assistant.jinja2": '{% include "_rules.j2" %}\nAnswer {{ question }}.\n',
    "prompts/other.jinja2": "Unrelated {{ topic }}.\n",
}


def _lock(repo: GitRepo) -> str:
    return repo.read("prompts.lock").decode()


def _versions(repo: GitRepo) -> dict[str, str]:
    return {name: entry.version for name, entry in lockfile.parse(repo.read("prompts.lock"), "prompts.lock").items()}


def test_include_is_locked_as_a_dependency_and_the_fragment_is_not_a_prompt(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    write_locked(capsys, repo, BASE)
    lock = _lock(repo)
    assert f'hash-scheme = "{HASH_SCHEME_DEPENDENCIES}"' in lock
    assert '[prompts.assistant]\npath = "prompts/assistant.jinja2"\nversion = "1.0.0"\nhash = "sha256:' in lock
    assert 'dependencies = [\n    "prompts/_rules.j2",\n]' in lock
    assert '[fragments."prompts/_rules.j2"]\nhash = "sha256:' in lock
    assert "[prompts._rules]" not in lock
    assert sorted(_versions(repo)) == ["assistant", "other"]


def test_a_dependency_change_bumps_its_dependents_and_only_them(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    write_locked(capsys, repo, BASE)
    repo.write("prompts/_rules.j2", "Be rude.\n")
    out = lock_twice(capsys, repo)
    assert "assistant: 1.0.0 -> 1.0.1 (patch, dependency prompts/_rules.j2 changed, prompts/assistant.jinja2)" in out
    assert _versions(repo) == {"assistant": "1.0.1", "other": "1.0.0"}


def test_a_variable_added_through_an_include_is_major(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    write_locked(capsys, repo, BASE)
    repo.write("prompts/_rules.j2", "Address {{ customer }} politely.\n")
    out = lock_twice(capsys, repo)
    assert "assistant: 1.0.0 -> 2.0.0 (major: adds variable customer, so the default bump patch was too small, dependency prompts/_rules.j2 changed" in out
    assert '"customer",\n    "question",' in _lock(repo)


def test_transitive_dependency_names_the_deepest_change(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    write_locked(
        capsys,
        repo,
        {
            "prompts/_tone.j2": "Stay calm.\n",
            "prompts/_rules.j2": '{% include "_tone.j2" %} Be brief.\n',
            "prompts/assistant.jinja2": '{% include "_rules.j2" %}\n{{ question }}\n',
            "prompts/other.jinja2": "{{ x }}\n",
        },
    )
    repo.write("prompts/_tone.j2", "Stay very calm.\n")
    out = lock_twice(capsys, repo)
    assert "assistant: 1.0.0 -> 1.0.1 (patch, dependency prompts/_tone.j2 changed" in out
    assert _versions(repo) == {"assistant": "1.0.1", "other": "1.0.0"}


def test_extends_with_blocks_and_super(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    write_locked(
        capsys,
        repo,
        {
            "templates/base.jinja2": "Header\n{% block body %}Base body {{ question }}{% endblock %}\nFooter\n",
            "templates/child.jinja2": '{% extends "base.jinja2" %}{% block body %}{{ super() }} and more{% endblock %}\n',
            "templates/lonely.jinja2": "{{ y }}\n",
        },
    )
    assert _versions(repo) == {"base": "1.0.0", "child": "1.0.0", "lonely": "1.0.0"}
    assert '"question",' in _lock(repo).split("[prompts.child]")[1]  # the parent's variables are the child's too
    repo.write("templates/base.jinja2", "Header!\n{% block body %}Base body {{ question }}{% endblock %}\nFooter\n")
    out = lock_twice(capsys, repo)
    assert "child: 1.0.0 -> 1.0.1 (patch, dependency templates/base.jinja2 changed" in out
    assert _versions(repo) == {"base": "1.0.1", "child": "1.0.1", "lonely": "1.0.0"}


def test_imported_macro(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    write_locked(
        capsys,
        repo,
        {
            "prompts/_macros.j2": "{% macro greet(who) %}Hello {{ who }}!{% endmacro %}",
            "prompts/hello.jinja2": '{% from "_macros.j2" import greet %}{{ greet(name) }}\n',
            "prompts/bye.jinja2": '{% import "_macros.j2" as m %}{{ m.greet(name) }} Bye.\n',
            "prompts/plain.jinja2": "{{ name }}\n",
        },
    )
    repo.write("prompts/_macros.j2", "{% macro greet(who) %}Hi {{ who }}!{% endmacro %}")
    out = lock_twice(capsys, repo)
    assert "hello: 1.0.0 -> 1.0.1 (patch, dependency prompts/_macros.j2 changed" in out
    assert "bye: 1.0.0 -> 1.0.1 (patch, dependency prompts/_macros.j2 changed" in out
    assert _versions(repo) == {"bye": "1.0.1", "hello": "1.0.1", "plain": "1.0.0"}


def test_dotprompt_partial(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    write_locked(
        capsys,
        repo,
        {
            "prompts/_style.prompt": "Answer in a {{tone}} tone.\n",
            "prompts/story.prompt": "---\nmodel: googleai/gemini-2.0-flash\n---\n{{> style}}\nTell a story about {{subject}}.\n",
            "prompts/poem.prompt": "---\nmodel: googleai/gemini-2.0-flash\n---\nA poem about {{subject}}.\n",
        },
    )
    lock = _lock(repo)
    assert '[fragments."prompts/_style.prompt"]' in lock
    assert '"subject",\n    "tone",' in lock.split("[prompts.story]")[1]
    repo.write("prompts/_style.prompt", "Answer in a {{tone}} tone, briefly.\n")
    out = lock_twice(capsys, repo)
    assert "story: 1.0.0 -> 1.0.1 (patch, dependency prompts/_style.prompt changed" in out
    assert _versions(repo) == {"poem": "1.0.0", "story": "1.0.1"}


def test_search_path_prefers_the_prompts_folder_then_the_root(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    write_locked(
        capsys,
        repo,
        {
            "shared/_footer.j2": "Root footer.\n",
            "prompts/a.jinja2": '{% include "shared/_footer.j2" %}{{ q }}\n',
        },
    )
    assert 'dependencies = [\n    "shared/_footer.j2",\n]' in _lock(repo)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            {"prompts/a.jinja2": "line one\n{% include name_of_rules %}\n"},
            "prompts/a.jinja2:2: dynamic include: the template name is computed at render time",
        ),
        ({"prompts/a.jinja2": '{% include "_missing.j2" %}\n'}, "prompts/a.jinja2:1: include '_missing.j2' not found (looked for prompts/_missing.j2, _missing.j2"),
        (
            {"prompts/_a.j2": '{% include "_b.j2" %}', "prompts/_b.j2": '\n{% include "_a.j2" %}', "prompts/p.jinja2": '{% include "_a.j2" %}'},
            "dependency cycle: prompts/_a.j2 -> prompts/_b.j2 -> prompts/_a.j2",
        ),
        ({"prompts/s.prompt": "{{> nowhere}}\n"}, "prompts/s.prompt:1: partial 'nowhere' not found (looked for prompts/_nowhere.prompt"),
    ],
)
def test_unresolvable_dependencies_are_one_line_errors(
    repo: GitRepo, capsys: pytest.CaptureFixture[str], files: dict[str, str], message: str
) -> None:
    for path, text in files.items():
        repo.write(path, text)
    repo.git("add", "-A")
    before = repo.snapshot()
    code, out, err = run(capsys, "lock")
    assert code == 1
    assert message in err
    assert "Traceback" not in err
    assert repo.snapshot() == before  # nothing written


def test_allow_unresolved_locks_without_the_dependency(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write("pyproject.toml", "[tool.prompthooks]\nallow_unresolved = true\n")
    write_locked(capsys, repo, {"prompts/a.jinja2": "{% include name_of_rules %}{{ q }}\n"})
    assert _versions(repo) == {"a": "1.0.0"}


def test_a_lock_without_dependencies_keeps_its_bytes_and_scheme(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    write_locked(capsys, repo, {"prompts/a.jinja2": "Hello {{ q }}\n"})
    assert f'hash-scheme = "{HASH_SCHEME}"' in _lock(repo)
    assert "dependencies" not in _lock(repo)


def test_an_old_lock_migrates_without_a_bump(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    """A lock written before dependencies were hashed: _rules was a prompt, assistant's hash its own."""
    from prompthooks import hashing, promptfile

    old = {
        name: promptfile.read(text.encode(), path)
        for name, (path, text) in {"assistant": ("prompts/assistant.jinja2", BASE["prompts/assistant.jinja2"]), "_rules": ("prompts/_rules.j2", BASE["prompts/_rules.j2"])}.items()
    }
    entries = {
        "assistant": lockfile.LockEntry("prompts/assistant.jinja2", "1.3.0", old["assistant"].hash, ("question",)),
        "_rules": lockfile.LockEntry("prompts/_rules.j2", "1.0.4", old["_rules"].hash, ()),
    }
    assert hashing.HASH_SCHEME == HASH_SCHEME
    for path in ("prompts/assistant.jinja2", "prompts/_rules.j2"):
        repo.write(path, BASE[path])
    repo.write("prompts.lock", lockfile.render(entries))
    repo.commit()
    out = lock_twice(capsys, repo)
    assert "assistant" not in out.replace("prompts/assistant.jinja2", "")  # no version change reported for it
    assert _versions(repo) == {"assistant": "1.3.0"}
    assert f'hash-scheme = "{HASH_SCHEME_DEPENDENCIES}"' in _lock(repo)
    repo.commit()
    repo.write("prompts/_rules.j2", "Be rude.\n")
    out = lock_twice(capsys, repo)
    assert "assistant: 1.3.0 -> 1.3.1 (patch, dependency prompts/_rules.j2 changed" in out


def test_this_repositorys_own_lock_is_unchanged() -> None:
    """The hash recipe is unchanged for prompts without dependencies: the committed lock is still canonical."""
    from pathlib import Path

    from prompthooks import config, lockplan, promptfile

    root = Path(__file__).resolve().parent.parent
    raw = (root / "prompts.lock").read_bytes()
    files = [(f"prompts/{path.name}", promptfile.read(path.read_bytes(), f"prompts/{path.name}")) for path in sorted((root / "prompts").iterdir())]
    locked = lockfile.parse(raw, "prompts.lock")
    plan = lockplan.plan(files, locked, config.DEFAULT)
    assert {name: entry.hash for name, entry in plan.entries.items()} == {name: entry.hash for name, entry in locked.items()}


def test_diff_shows_a_dependency_only_change(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    write_locked(capsys, repo, BASE)
    first = repo.git("rev-parse", "HEAD").strip()
    repo.write("prompts/_rules.j2", "Be rude.\n")
    repo.git("add", "-A")
    lock_twice(capsys, repo)
    repo.commit()
    code, out, err = run(capsys, "diff", first, "HEAD", "--format", "json")
    assert code == 0, err
    import json

    changed = {change["name"]: change for change in json.loads(out)["prompts"]}
    assert list(changed) == ["assistant"]
    assert (changed["assistant"]["status"], changed["assistant"]["bump"]) == ("changed", "patch")


def test_check_names_a_stale_fragment(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    write_locked(capsys, repo, BASE)
    lock = _lock(repo)
    fragment_hash = lock.split('[fragments."prompts/_rules.j2"]\nhash = "')[1].split('"')[0]
    repo.write("prompts.lock", lock.replace(fragment_hash, "sha256:" + "0" * 64))
    code, out, _ = run(capsys, "check")
    assert code == 1
    assert "prompts/_rules.j2: fragment: prompts.lock has sha256:000000000000, the file needs" in out


def test_a_fragment_change_is_seen_through_the_cache(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    """The dependent's record comes from the cache; only the fragment is read again, and the bump still happens."""
    write_locked(capsys, repo, BASE)
    assert run(capsys, "lock") == (0, "", "")  # a clean, cached state
    repo.write("prompts/_rules.j2", "Be brief.\n")
    code, out, _ = run(capsys, "lock")
    assert code == 1 and "assistant: 1.0.0 -> 1.0.1 (patch, dependency prompts/_rules.j2 changed" in out


def test_old_and_new_hash_schemes_both_parse() -> None:
    entry = lockfile.LockEntry("p/a.j2", "1.0.0", "sha256:" + "1" * 64, ("q",), ("tone",), ("p/_r.j2",))
    fragments = {"p/_r.j2": lockfile.FragmentEntry("sha256:" + "2" * 64)}
    raw = lockfile.render({"a": entry}, fragments=fragments)
    assert lockfile.uses_dependencies(raw)
    assert lockfile.parse(raw, "x") == {"a": entry}
    assert lockfile.parse_fragments(raw, "x") == fragments
    plain = lockfile.render({"a": entry._replace(dependencies=(), optional=())})
    assert not lockfile.uses_dependencies(plain) and f'hash-scheme = "{HASH_SCHEME}"'.encode() in plain


def test_include_ignore_missing_of_an_absent_file_is_no_error(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    write_locked(capsys, repo, {"prompts/a.jinja2": '{% include "_extra.j2" ignore missing %}{{ q }}\n'})
    assert "dependencies = [" not in _lock(repo)
    assert f'hash-scheme = "{HASH_SCHEME_DEPENDENCIES}"' in _lock(repo)  # so the next lock knows it is not an old one
    repo.write("prompts/_extra.j2", "Extra.\n")  # appearing changes what renders: a bump
    repo.git("add", "-A")
    assert "a: 1.0.0 -> 1.0.1 (patch" in lock_twice(capsys, repo)
