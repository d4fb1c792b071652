"""The README says each thing once: one exit-code table, no section listing a rule twice, a hook pin that exists."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest
from mlflow import MlflowClient

from prompthooks import main
from prompthooks.registry import client
from testing.mlflow_server import MlflowServer
from tests.helpers import cli
from tests.helpers.registry import lock_and_commit
from tests.helpers.repos import PROJECT_ROOT, init_repo

README = (PROJECT_ROOT / "README.md").read_text()


def _tables_with_first_column(header: re.Pattern[str]) -> list[list[str]]:
    """The first-column cells of every Markdown table whose first header cell matches ``header``."""
    tables: list[list[str]] = []
    rows: list[str] | None = None
    for line in README.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")] if line.startswith("|") else None
        if cells is None:
            rows = None
        elif rows is None and header.fullmatch(cells[0]):
            rows = []
            tables.append(rows)
        elif rows is not None and not set(cells[0]) <= set("-: "):
            rows.append(cells[0])
    return tables


def test_one_exit_code_table_each_code_meaning_one_thing() -> None:
    [codes] = _tables_with_first_column(re.compile(r"(exit )?code"))
    assert len(codes) == len(set(codes)), codes
    assert {int(code) for code in codes} == {
        0, 1, 2, main.EXIT_UNEXPECTED, client.EXIT_UNREACHABLE, client.EXIT_NOT_AUTHORIZED, main.EXIT_INTERRUPTED, main.EXIT_OUTPUT_CLOSED,
    }


def test_no_section_lists_one_rule_twice() -> None:
    """Merges left two "Errors (exit 1, nothing written)" bullets and two "Each prompt is registered" bullets in one section."""
    for section in re.split(r"^#+ ", README, flags=re.MULTILINE):
        openings = [" ".join(line.split()[:5]) for line in section.splitlines() if line.startswith("- ")]
        assert len(openings) == len(set(openings)), [opening for opening in openings if openings.count(opening) > 1]


def test_the_hook_example_pins_a_commit_sha_or_an_existing_tag() -> None:
    [rev] = re.findall(r"^\s+rev: (\S+)", README, flags=re.MULTILINE)
    tags = subprocess.run(["git", "tag", "--list"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True).stdout.split()
    assert re.fullmatch(r"[0-9a-f]{40}", rev) or rev in tags, f"rev: {rev} is neither a commit sha nor a tag of this repository"


# --- the README's command examples, run as written --------------------------------------------

COMMAND: Final = re.compile(r"^(?:\$ )?prompthooks ([^#|>]*)", re.MULTILINE)


def readme_commands() -> list[list[str]]:
    """Every ``prompthooks ...`` line of the README's code blocks, as arguments (comments, pipes and redirections cut)."""
    found: list[list[str]] = []
    language: str | None = None  # inside a fenced block: its language
    for line in README.splitlines():
        if line.startswith("```"):
            language = line[3:].strip() if language is None else None
        elif language in ("bash", "sh") or (language == "console" and line.startswith("$ ")):  # commands, not transcripts
            match = COMMAND.match(line)
            if match and match.group(1).strip():
                found.append(shlex.split(match.group(1)))
    return found


def _assistant(version_line: str, text: str) -> str:
    return "{#\nname: assistant\n" + version_line + "bump: minor\n#}\n" + text + "\n"


@pytest.fixture
def scratch_server(tmp_path: Path) -> Iterator[MlflowServer]:
    """A server of the test's own: the README's environments (production, staging) are everyone's on a shared one."""
    server = MlflowServer(tmp_path / "mlflow").start()
    yield server
    server.stop()


def test_every_readme_command_runs_on_a_scratch_repository(tmp_path: Path, scratch_server: MlflowServer) -> None:
    """The README cannot drift from the CLI: each example runs, in the README's order, against a real server of its own."""
    mlflow_server = scratch_server
    repo = init_repo(tmp_path / "repo")
    commits = []
    for step, text in enumerate(("Answer {{ question }}.", "Answer {{ question }} politely.", "Answer {{ question }} politely and briefly.")):
        current = repo.read("prompts/assistant.jinja2").decode() if step else ""
        stamped = "".join(line + "\n" for line in current.splitlines() if line.startswith("version:"))
        repo.write("prompts/assistant.jinja2", _assistant(stamped, text))
        commits.append(lock_and_commit(repo, f"assistant, step {step}"))  # 1.0.0, 1.1.0, 1.2.0
    repo.git("update-ref", "refs/remotes/origin/main", commits[0])
    repo.git("branch", "candidate")
    repo.git("checkout", "-q", "candidate")
    repo.write("prompts/assistant.jinja2", repo.read("prompts/assistant.jinja2").decode().replace("briefly", "very briefly"))
    lock_and_commit(repo, "a candidate")
    repo.git("checkout", "-q", "main")
    uri = mlflow_server.uri
    for commit in commits:  # in order: a deploy never registers an old version on top of @latest
        assert cli.run(repo.root, "sync", "--ref", commit, "--tracking-uri", uri).returncode == 0
    for commit in commits[:2]:  # production has a history to roll back through
        assert cli.run(repo.root, "deploy", "production", "--ref", commit, "--tracking-uri", uri).returncode == 0
    MlflowClient(tracking_uri=uri).create_experiment("support-app")  # where the README's application logs its traces
    summary = tmp_path / "summary.md"
    environment = {"MLFLOW_TRACKING_URI": uri, "GITHUB_SHA": commits[-1], "GITHUB_STEP_SUMMARY": str(summary)}
    ran = []
    commands = readme_commands()
    for args in [*(args for args in commands if args[0] != "uri"), *(args for args in commands if args[0] == "uri")]:  # uri after deploy
        if args[0] in ("merge-lock",):  # git runs it, with git's temporary files
            continue
        args = [re.sub(r"\$\{?(\w+)\}?", lambda variable: environment[variable.group(1)], arg) for arg in args]
        if args[0] == "rollback" and "--to" in args:  # the README's id is an example: the oldest deployment's prefix
            with cli.inside(repo.root, environment):
                oldest = json.loads(cli.run(repo.root, "deployments", args[1], "--json").stdout)[-1]["id"]
            args[args.index("--to") + 1] = oldest[:8]
        if args[:1] == ["diff"] and len(args) > 2 and re.fullmatch(r"[0-9a-f]{12}", args[1]):
            args[1:3] = [commits[0], commits[-1]]
        if "--variant" in args:  # each example starts a split from main's versions, as its section tells it
            assert cli.run(repo.root, "deploy", args[1], "--ref", commits[-1], env=environment).returncode == 0
        result = cli.run(repo.root, *args, env=environment)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        ran.append(args[0])
    assert {"uri", "deploy", "deployments", "status", "rollback", "export", "diff", "log", "show", "install"} <= set(ran)


def test_every_subcommand_is_in_the_readme() -> None:
    assert not [name for name in main.SUBCOMMANDS if f"prompthooks {name}" not in README]
