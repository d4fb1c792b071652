from __future__ import annotations

import os
import subprocess
import sys
import time

from tests.helpers.repos import GitRepo

NEVER = {"mlflow", "git"}  # git is GitPython: the hook uses plain git commands
ONLY_WHEN_PARSING = {"jinja2", "yaml", "semver", "tomllib", "tomli_w"}


def _modules_after(repo: GitRepo, command: str) -> set[str]:
    code = f"import sys; from prompthooks.main import main; main([{command!r}, '--quiet']); print(' '.join(sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], cwd=repo.root, capture_output=True, text=True, check=True)
    return {name.split(".")[0] for name in result.stdout.split()}


def test_the_hook_never_imports_mlflow_or_gitpython(repo: GitRepo) -> None:
    repo.write("prompts/a.jinja2", "{#\nname: a\n#}\nHi {{ x }}\n")
    repo.git("add", "-A")
    for command in ("lock", "check", "lock"):
        assert not _modules_after(repo, command) & NEVER


def test_an_unchanged_repository_parses_nothing(repo: GitRepo) -> None:
    repo.write("prompts/a.jinja2", "{#\nname: a\n#}\nHi {{ x }}\n")
    repo.git("add", "-A")
    _modules_after(repo, "lock")
    repo.commit()
    for path in repo.root.rglob("*"):
        if ".git" not in path.parts and path.is_file():
            os.utime(path, (time.time() - 3600, time.time() - 3600))
    assert _modules_after(repo, "lock") & ONLY_WHEN_PARSING  # the first look parses, and remembers
    assert not _modules_after(repo, "lock") & (ONLY_WHEN_PARSING | NEVER)
    assert not _modules_after(repo, "check") & (ONLY_WHEN_PARSING | NEVER)


def test_a_changed_jinja_prompt_reads_no_handlebars(repo: GitRepo) -> None:
    repo.write("prompts/a.jinja2", "{#\nname: a\n#}\nHi {{ x }}\n")
    repo.git("add", "-A")
    code = "import sys; from prompthooks.main import main; main(['lock']); print('prompthooks.handlebars' in sys.modules)"
    written = subprocess.run([sys.executable, "-c", code], cwd=repo.root, capture_output=True, text=True, check=True)
    assert (repo.root / "prompts.lock").exists()
    assert written.stdout.splitlines()[-1] == "False"


def test_unexpected_errors_exit_3_with_a_clear_line(repo: GitRepo) -> None:
    code = "import prompthooks.workspace as w\ndef boom(*a): raise RuntimeError('boom')\nw.evaluate = boom\nfrom prompthooks.main import main\nraise SystemExit(main(['lock']))"
    result = subprocess.run([sys.executable, "-c", code], cwd=repo.root, capture_output=True, text=True)
    assert result.returncode == 3
    assert result.stderr.splitlines()[-1] == "prompthooks: unexpected error: RuntimeError: boom"


def test_unexpected_errors_hide_credentials(repo: GitRepo) -> None:
    code = (
        "import prompthooks.commands.sync as s\n"
        "def boom(root, options): raise RuntimeError('failed talking to ' + options.tracking_uri)\n"
        "s.sync = boom\n"
        "from prompthooks.main import main\n"
        "raise SystemExit(main(['sync', '--tracking-uri', 'https://ci:hunter2-secret@mlflow.example.com']))"
    )
    env = {**os.environ, "MLFLOW_TRACKING_TOKEN": "token-secret-42"}
    result = subprocess.run([sys.executable, "-c", code], cwd=repo.root, capture_output=True, text=True, env=env)
    assert result.returncode == 3
    assert "hunter2-secret" not in result.stderr and "token-secret-42" not in result.stderr
    assert result.stderr.splitlines()[-1] == "prompthooks: unexpected error: RuntimeError: failed talking to https://***@mlflow.example.com"


PROMPTHOOKS = os.path.join(os.path.dirname(sys.executable), "prompthooks")
# Python's default buffered stdout; under PYTHONUNBUFFERED a partial write to a full pipe is dropped silently instead of failing.
BUFFERED = {key: value for key, value in os.environ.items() if key != "PYTHONUNBUFFERED"}


def _many_prompts(repo: GitRepo, count: int) -> None:
    for index in range(count):
        name = f"p{index:04d}_" + "long_name" * 15  # an export line of about 170 bytes
        repo.write(f"prompts/p{index:04d}.md", f"---\nname: {name}\n---\nSay {{{{ x }}}} {index}.\n" + "padding line\n" * 40)
    repo.git("add", "-A")
    subprocess.run([PROMPTHOOKS, "lock", "--quiet"], cwd=repo.root, check=False)
    repo.commit("prompts")


def test_a_closed_stdout_ends_quietly_as_sigpipe_would(repo: GitRepo) -> None:
    """`prompthooks ... | head -2` under `set -o pipefail`: no traceback, no "unexpected error", exit 141 (128 + SIGPIPE)."""
    repo.commit("empty start")
    base = repo.git("rev-parse", "HEAD").strip()
    _many_prompts(repo, 400)  # a diff of about 300 KiB and an export of about 130 KiB: more than a pipe holds
    for command in ("export --format env", f"diff {base} HEAD", f"diff {base} HEAD --format markdown"):
        script = f"set -o pipefail; {PROMPTHOOKS} {command} | head -2 >/dev/null; echo \"status=${{PIPESTATUS[0]}}\" >&2"
        result = subprocess.run(["bash", "-c", script], cwd=repo.root, capture_output=True, text=True, env=BUFFERED)
        assert result.stderr == "status=141\n", (command, result.stderr)
