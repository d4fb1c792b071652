"""A five-commit prompt history with fixed dates, so commit ids and outputs are reproducible."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.helpers import cli
from tests.helpers.repos import GitRepo, init_repo

ASSISTANT_V1 = """{#
name: assistant
description: Support assistant.
#}
Answer {{ question }} politely.
"""
ASSISTANT_V2 = """{#
name: assistant
description: Support assistant with a tone.
#}
{% if tone %}Use a {{ tone }} tone.{% endif %}
{% for fact in facts %}- {{ fact }}
{% endfor %}
Answer {{ question }} politely.
"""
ASSISTANT_V3 = """{#
name: assistant
description: Support assistant with a tone.
#}
{% for fact in facts %}- {{ fact }}
{% endfor %}
Answer {{ question }} politely and briefly.
"""


IDENTITY = {f"GIT_{role}_{field}": value for role in ("AUTHOR", "COMMITTER") for field, value in (("NAME", "Prompt Tester"), ("EMAIL", "tester@example.com"))}


def commit_all(repo: GitRepo, message: str, day: int) -> str:
    date = f"2026-01-{day:02d}T12:00:00+00:00"
    env = {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date, **IDENTITY}
    repo.git("add", "-A")
    cli.run(repo.root, "lock", "--quiet", "--no-cache")
    repo.git("add", "-A")
    subprocess.run(["git", "commit", "-q", "--no-verify", "--no-gpg-sign", "-m", message], cwd=repo.root, env={**repo_env(), **env}, check=True)
    return repo.git("rev-parse", "HEAD").strip()


def repo_env() -> dict[str, str]:
    import os

    from prompthooks.git import clean_environment

    return {**os.environ, **clean_environment()}


def build_history(root: Path) -> tuple[GitRepo, list[str]]:
    repo = init_repo(root)
    commits = []
    repo.write("prompts/assistant.jinja2", ASSISTANT_V1)
    repo.write("prompts/summary.md", "---\nname: summary\n---\nSummarise {{ text }}.\n")
    repo.write("prompts/old.md", "Legacy {{ thing }}.\n")
    commits.append(commit_all(repo, "Add prompts", 1))
    repo.write("prompts/assistant.jinja2", ASSISTANT_V2)
    commits.append(commit_all(repo, "Give the assistant a tone and facts", 2))
    repo.git("mv", "prompts/summary.md", "prompts/digest.md")
    repo.write("prompts/digest.md", repo.read("prompts/digest.md").replace(b"Summarise", b"Digest"))
    commits.append(commit_all(repo, "Rename the summary prompt", 3))
    repo.git("rm", "-q", "prompts/old.md")
    commits.append(commit_all(repo, "Drop the legacy prompt", 4))
    stamped_header = repo.read("prompts/assistant.jinja2").decode().split("#}\n")[0]
    repo.write("prompts/assistant.jinja2", stamped_header + "#}\n" + ASSISTANT_V3.split("#}\n")[1])
    commits.append(commit_all(repo, "Drop the tone", 5))
    return repo, commits


CAUSES = {"conflict markers": "unresolved merge conflict in the lock", "mangled TOML": "invalid TOML"}
BROKEN_LOCKS = {
    "conflict markers": lambda lock: lock.replace('version = "1.0.1"', '<<<<<<< HEAD\nversion = "1.0.1"\n=======\nversion = "1.0.2"\n>>>>>>> other'),
    "mangled TOML": lambda lock: lock.replace('version = "1.0.1"', 'version = "1.0.1'),
}
