"""``prompthooks check``: the lock's computation without writing; for pre-push and CI."""

from __future__ import annotations

from prompthooks.errors import FatalError
from prompthooks.verify import problems
from prompthooks.workspace import Workspace


def check(workspace: Workspace, *, quiet: bool) -> int:
    error = workspace.current_error
    if error is not None:
        fix = "" if "prompthooks lock" in error.message else "; run `prompthooks lock` to rebuild it"
        raise FatalError(error.message + fix, path=error.path, line=error.line)
    found = problems(workspace)
    if found and not quiet:
        for line in found:
            print(line)
        print("prompthooks: run `prompthooks lock` to update, then stage the changes")
    return 1 if found else 0
