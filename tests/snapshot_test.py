"""Reading a commit's prompts for sync, deploy and export: verified like `check`, at the cost of reading them."""

from __future__ import annotations

import pytest

from prompthooks import snapshot, variables
from tests.helpers.hook import write_locked
from tests.helpers.repos import GitRepo, counting


def test_a_committed_prompt_keeps_the_interface_its_lock_recorded(repo: GitRepo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    write_locked(
        capsys,
        repo,
        {
            "prompts/plain.jinja2": "{# name: plain #}\nHi {{ who }}{% if tone is defined %} ({{ tone }}){% endif %}\n",
            "prompts/uses.jinja2": '{# name: uses #}\n{% include "prompts/_part.j2" %}\n',
            "prompts/_part.j2": "Part for {{ whom }}\n",
        },
    )
    analysed = counting(monkeypatch, variables, "analyse")
    read = snapshot.read(str(repo.root), "HEAD")
    paths = {call[1] for call in analysed}
    assert "prompts/plain.jinja2" not in paths  # its hash is the lock's: the interface recorded there is its own
    assert {"prompts/_part.j2", "prompts/uses.jinja2"} <= paths  # a fragment, and a prompt that uses one, are read in full
    interfaces = {prompt.name: (prompt.entry.variables, prompt.entry.optional) for prompt in read.prompts}
    assert interfaces == {"plain": (("who",), ("tone",)), "uses": (("whom",), ())}
