"""Reading prompt files on several processes gives exactly what one process gives, errors included."""

from __future__ import annotations

from pathlib import Path

import pytest

from prompthooks import parallel, promptfile
from prompthooks.errors import FatalError, FatalErrors
from prompthooks.records import PromptFile
from tests.helpers.hook import run, write_locked
from tests.helpers.repos import GitRepo

needs_two_cores = pytest.mark.skipif(parallel.cores() < 2, reason="a pool needs two cores")


def _read(path: str) -> PromptFile:
    with open(path, "rb") as file:
        return promptfile.read(file.read(), path)


def _outcome(path: str) -> str | PromptFile:
    try:
        return _read(path)
    except FatalError as error:
        return f"{type(error).__name__}: {error} (exit {error.exit_code})"


def _shown(found: PromptFile | FatalError) -> str | PromptFile:
    return f"{type(found).__name__}: {found} (exit {found.exit_code})" if isinstance(found, FatalError) else found


@needs_two_cores
def test_a_pool_reads_what_one_process_reads(repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "MIN_TASKS", 4)
    for i in range(9):
        repo.write(f"p{i}.jinja2", f"{{# name: n{i} #}}\nHello {{{{ who_{i} }}}}\n")
    repo.write("p3.jinja2", "{# name: [broken #}\nHi\n")
    repo.write("p6.jinja2", "{% for %}\n")
    repo.write("p8.md", "---\nname: p8\nmodel_config:\n  temperature: -1\n  top_p: 7\n---\nHi\n")  # two problems: FatalErrors
    paths = [f"p{i}.jinja2" for i in range(8)] + ["p8.md"]
    found = parallel.map_all(_read, paths)
    assert found is not None
    assert [_shown(outcome) for outcome in found] == [_outcome(path) for path in paths]
    assert isinstance(found[6], FatalError) and found[6].line == 1
    assert isinstance(found[8], FatalErrors) and len(found[8].errors) == 2


def test_too_few_tasks_are_worked_in_this_process() -> None:
    assert parallel.map_all(len, ["a"] * (parallel.MIN_TASKS - 1)) is None


@needs_two_cores
def test_the_hook_says_the_same_with_a_pool(repo: GitRepo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    write_locked(capsys, repo, {f"prompts/p{i}.md": f"---\nname: p{i}\n---\nHello {{{{ who }}}} {i}\n" for i in range(12)})
    repo.write("prompts/p2.md", "---\nname: p2\n---\nHello {{ who }} and {{ whom }}\n")
    repo.write("prompts/p7.md", "---\nname: [p7\n---\nBroken\n")
    serial = run(capsys, "check", "--no-cache")
    monkeypatch.setattr(parallel, "MIN_TASKS", 4)
    assert run(capsys, "check", "--no-cache") == serial
    assert serial[0] == 1 and serial[2].startswith("prompts/p7.md:3: invalid YAML front matter")
    repo.write("prompts/p7.md", "---\nname: p7\n---\nFixed\n")
    serial = run(capsys, "check", "--no-cache")
    monkeypatch.setattr(parallel, "MIN_TASKS", 10**9)
    assert run(capsys, "check", "--no-cache") == serial
    assert serial[0] == 1 and "p2: prompts.lock has 1.0.0" in serial[1] and "(major: adds variable whom" in serial[1]


@needs_two_cores
def test_alongside_gives_what_the_child_computed_while_the_steps_ran_here() -> None:
    import os
    import time

    ran: list[int] = []

    def slow_work() -> tuple[int, str]:
        time.sleep(0.3)
        return os.getpid(), "listed"

    found = parallel.alongside(slow_work, [lambda: ran.append(os.getpid()), lambda: ran.append(os.getpid())])
    assert found is not None and found[1] == "listed"
    assert found[0] != os.getpid()  # computed by the child
    assert ran == [os.getpid(), os.getpid()]  # every step ran here, while the child worked


@needs_two_cores
def test_alongside_skips_the_steps_left_once_the_child_is_done(tmp_path: Path) -> None:
    import time

    started = tmp_path / "started"

    def after_the_first_step() -> int:
        while not started.exists():  # the child cannot be done before the first step begins
            time.sleep(0.001)
        return 42

    def first() -> None:
        started.touch()
        time.sleep(0.3)  # the child is done meanwhile
        ran.append("first")

    ran: list[str] = []
    assert parallel.alongside(after_the_first_step, [first, lambda: ran.append("second")]) == 42
    assert ran == ["first"]  # the second would only have delayed the result


@needs_two_cores
def test_alongside_gives_none_when_the_child_fails_so_the_caller_does_the_work(capfd: pytest.CaptureFixture[str]) -> None:
    def failing() -> None:
        raise FatalError("no such file", path="p.jinja2")

    assert parallel.alongside(failing, [lambda: None]) is None
    assert parallel.alongside(lambda: object(), []) is None  # what marshal cannot carry is a failure too
    assert capfd.readouterr() == ("", "")  # the child says nothing: the caller reports the error


@needs_two_cores
def test_the_cli_process_ends_its_pool_quietly(repo: GitRepo) -> None:
    """The prompthooks process handles SIGTERM as Ctrl-C; the pool's workers, which the pool ends with SIGTERM, must not."""
    import subprocess
    import sys

    for i in range(9):
        repo.write(f"p{i}.jinja2", f"{{# name: n{i} #}}\nHello {{{{ who_{i} }}}}\n")
    repo.git("add", "-A")  # the hook reads what git tracks
    code = "import sys\nfrom prompthooks import main, parallel\nparallel.MIN_TASKS = 4\nsys.argv = ['prompthooks', 'lock', '--no-cache']\nmain.main()\n"
    for _ in range(10):  # the workers must be waiting for work when the pool ends: often, not always
        result = subprocess.run([sys.executable, "-c", code], cwd=repo.root, capture_output=True, text=True, timeout=60, check=False)
        assert result.stderr == ""
