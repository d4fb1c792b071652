"""Evaluating only what changed since a known state says what evaluating every prompt says."""

from __future__ import annotations

import os
import random

import pytest

from prompthooks import config, git, inputs, lockpatch, verify, workspace
from prompthooks.cache import Cache
from prompthooks.errors import FatalError
from prompthooks.main import main
from tests.helpers.repos import GitRepo, counting

NAMES = [f"p{i}" for i in range(8)]


def _text(rng: random.Random, name: str) -> str:
    words = " ".join(rng.choice(["hi", "{{ who }}", "{{ tone }}", "bye", "{% if x %}x{% endif %}"]) for _ in range(rng.randint(1, 3)))
    return f"{{#\nname: {name}\n#}}\n{words}\n" if rng.random() < 0.7 else f"{words}\n"


def _both(repo: GitRepo) -> tuple[object, object]:
    """(what lockpatch says, what the whole evaluation says): a workspace, a FatalError's message, or None."""
    root = str(repo.root)
    checkout = git.find_checkout(root)
    configured = config.load(root)
    collected = inputs.collect(root, configured, checkout.git_dir, current_lock=inputs.read_lock(configured))
    cache = Cache(os.path.join(checkout.git_dir, "prompthooks"))
    results: list[object] = []
    since = lockpatch.since(collected, lockpatch.known_state(cache, collected.current_lock))
    for evaluate in (lambda: lockpatch.evaluate(collected, cache, since) if since is not None else None, lambda: workspace.evaluate(collected, cache)):
        try:
            results.append(evaluate())
        except FatalError as error:
            results.append(str(error))
    return results[0], results[1]


def _assert_same(patched: object, whole: object) -> None:
    if not isinstance(patched, workspace.Workspace):
        assert patched is None or patched == whole
        return
    assert isinstance(whole, workspace.Workspace)
    assert patched.rendered == whole.rendered
    assert patched.plan.stamps == whole.plan.stamps
    assert verify.problems(patched) == verify.problems(whole)
    for name, entry in patched.plan.entries.items():
        assert whole.plan.entries[name] == entry
    changes = {change.name: change for change in whole.plan.changes}
    assert all(changes[change.name] == change for change in patched.plan.changes)
    assert {name for name in changes if patched.current is not None and name in patched.current} <= {change.name for change in patched.plan.changes} | {
        name for name, entry in patched.current.items() if whole.plan.entries.get(name) == entry  # type: ignore[union-attr]
    }


@pytest.mark.parametrize("seed", range(8))
def test_only_what_changed_says_what_everything_says(repo: GitRepo, seed: int, capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(seed)
    for name in NAMES:
        repo.write(f"prompts/{name}.jinja2", _text(rng, name))
    repo.git("add", "-A")
    main(["lock", "--quiet"])
    for name in NAMES:  # not edited this instant: known by their stats
        os.utime(repo.root / f"prompts/{name}.jinja2", (1_700_000_000, 1_700_000_000))
    repo.commit("prompts")
    patched_at_all = 0
    for _ in range(60):
        step = rng.random()
        name = rng.choice(NAMES)
        path = f"prompts/{name}.jinja2"
        if step < 0.45:
            repo.write(path, repo.read(path) + rng.choice([b"more\n", b"{{ extra }}\n"]))
        elif step < 0.55:
            text = repo.read(path).decode()
            if text.startswith("{#"):
                repo.write(path, text.replace("#}", rng.choice(["bump: minor\n#}", "version: 9.0.0\n#}", "version: 0.0.1\n#}"]), 1))
        elif step < 0.65:
            repo.git("checkout", "HEAD", "--", path)
        elif step < 0.72:
            os.utime(repo.root / path)  # a new stat, the same bytes
        elif step < 0.85:
            repo.git("add", "-A")
            if main(["lock", "--quiet"]) == 1:
                repo.git("add", "-A")
                main(["lock", "--quiet"])
            if main(["check", "--quiet"]) == 0:
                repo.commit("commit")
        patched, whole = _both(repo)
        patched_at_all += patched is not None  # a workspace, or the same error
        _assert_same(patched, whole)
        main(["lock" if rng.random() < 0.7 else "check", "--quiet"])
        capsys.readouterr()
    assert patched_at_all > 8  # the comparison was made, not skipped
    repo.write(f"prompts/{NAMES[0]}.jinja2", repo.read(f"prompts/{NAMES[0]}.jinja2") + b"last\n")
    capsys.readouterr()
    verdict = main(["check"]), capsys.readouterr()
    assert verdict == (main(["check", "--no-cache"]), capsys.readouterr())  # from what changed, and from nothing


def test_one_changed_prompt_reads_one_file_and_writes_its_table(repo: GitRepo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    for index in range(40):
        written = repo.write(f"prompts/p{index}.jinja2", f"{{#\nname: p{index}\nversion: 1.0.0\n#}}\nHello {{{{ who }}}} {index}\n")
        os.utime(written, (1_700_000_000, 1_700_000_000))  # not edited this instant: known by their stats
    repo.git("add", "-A")
    main(["lock", "--quiet"])
    repo.commit("prompts")
    main(["check"])
    repo.write("prompts/p7.jinja2", repo.read("prompts/p7.jinja2") + b"Bye.\n")
    whole = counting(monkeypatch, workspace, "evaluate")
    read = counting(monkeypatch, lockpatch, "_read")
    assert main(["lock"]) == 1
    assert capsys.readouterr().out.splitlines()[0] == "p7: 1.0.0 -> 1.0.1 (patch, prompts/p7.jinja2)"
    assert whole == [] and [call[0] for call in read] == ["prompts/p7.jinja2"]
    repo.git("add", "-A")
    assert main(["lock"]) == 0  # the stamped file: the same bytes it wrote, not read again
    assert whole == [] and len(read) == 1
    repo.commit("p7")
    repo.write("prompts/p8.jinja2", repo.read("prompts/p8.jinja2") + b"Bye.\n")
    assert main(["lock", "--quiet"]) == 1  # after the commit of that lock, still from what changed
    assert whole == [] and [call[0] for call in read][1:] == ["prompts/p8.jinja2"]
    repo.git("add", "-A")
    assert main(["check", "--no-cache"]) == 0  # what it wrote is what evaluating everything writes


def test_a_lock_with_composition_is_evaluated_whole(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write("prompts/_header.jinja2", "Be brief.\n")
    repo.write("prompts/a.jinja2", "{% include '_header.jinja2' %}\nHello {{ who }}\n")
    repo.write("prompts/b.jinja2", "Bye {{ who }}\n")
    for path in ("prompts/_header.jinja2", "prompts/a.jinja2", "prompts/b.jinja2"):
        os.utime(repo.root / path, (1_700_000_000, 1_700_000_000))
    repo.git("add", "-A")
    main(["lock", "--quiet"])
    repo.git("add", "-A")
    assert main(["lock", "--quiet"]) == 0
    repo.commit("composed")
    assert b"[fragments." in repo.read("prompts.lock")
    repo.write("prompts/b.jinja2", "Bye now {{ who }}\n")  # not composed itself: the lock is
    patched, whole = _both(repo)
    assert patched is None and isinstance(whole, workspace.Workspace)
    capsys.readouterr()


def test_a_stamped_file_rewritten_before_its_stat_is_kept_is_read_again(repo: GitRepo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by an adversarial pass: rewritten (same size, mtime set back) between the stamp and ``remember``,
    the file was kept under the stat of bytes the plan never read, and ``check`` passed on a stale lock."""
    for index in range(5):
        written = repo.write(f"prompts/p{index}.jinja2", f"{{#\nname: p{index}\nversion: 1.0.0\n#}}\nHello {{{{ who }}}} {index}\n")
        os.utime(written, (1_700_000_000, 1_700_000_000))
    repo.git("add", "-A")
    main(["lock", "--quiet"])
    repo.commit("prompts")
    repo.write("prompts/p2.jinja2", repo.read("prompts/p2.jinja2") + b"Edit.\n")
    original = lockpatch.remember

    def rewritten_first(*args: object, **kwargs: object) -> bool:
        stamped = repo.root / "prompts" / "p2.jinja2"
        stamped.write_bytes(stamped.read_bytes().replace(b"Edit.", b"EDIT."))
        os.utime(stamped, (1_700_000_000, 1_700_000_000))
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(lockpatch, "remember", rewritten_first)
    assert main(["lock", "--quiet"]) == 1
    monkeypatch.setattr(lockpatch, "remember", original)
    repo.git("add", "-A")
    assert main(["check", "--no-cache"]) == 1  # the lock holds the hash of "Edit.", the file says "EDIT."
    assert main(["check"]) == 1
    capsys.readouterr()
