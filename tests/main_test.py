from __future__ import annotations

import subprocess
import sys

from tests.conftest import GitRepo

HEAVY = ("mlflow", "git", "jinja2")  # git is GitPython: the hook's hot path uses plain git commands


def _modules_after(repo: GitRepo, command: str) -> set[str]:
    code = f"import sys; from prompthooks.main import main; main([{command!r}, '--quiet']); print(' '.join(sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], cwd=repo.root, capture_output=True, text=True, check=True)
    return {name.split(".")[0] for name in result.stdout.split()}


def test_the_hook_never_imports_mlflow_or_gitpython(repo: GitRepo) -> None:
    repo.write("prompts/a.jinja2", "{#\nname: a\n#}\nHi {{ x }}\n")
    repo.git("add", "-A")
    for command in ("lock", "check", "lock"):
        assert not _modules_after(repo, command) & set(HEAVY)


def test_unexpected_errors_exit_3_with_a_clear_line(repo: GitRepo) -> None:
    code = "import prompthooks.workspace as w\ndef boom(*a): raise RuntimeError('boom')\nw.evaluate = boom\nfrom prompthooks.main import main\nraise SystemExit(main(['lock']))"
    result = subprocess.run([sys.executable, "-c", code], cwd=repo.root, capture_output=True, text=True)
    assert result.returncode == 3
    assert result.stderr.splitlines()[-1] == "prompthooks: unexpected error: RuntimeError: boom"
