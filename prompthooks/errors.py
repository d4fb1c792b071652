"""The one exception type for expected failures, reported as ``path:line: message``."""

from __future__ import annotations


class FatalError(Exception):
    """An expected failure: bad input, a stale lock, an unreachable registry.

    ``exit_code`` lets the registry path report "unreachable" apart from
    "invalid input" while everything is still caught in one place.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        exit_code: int = 1,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.exit_code = exit_code

    def __str__(self) -> str:
        if self.path is None:
            return self.message
        if self.line is None:
            return f"{self.path}: {self.message}"
        return f"{self.path}:{self.line}: {self.message}"


class FatalErrors(FatalError):
    """Several independent input errors, reported one line each."""

    def __init__(self, errors: list[FatalError]) -> None:
        super().__init__("\n".join(str(error) for error in errors))
        self.errors = errors


def raise_collected(errors: list[FatalError]) -> None:
    """Raise the errors gathered over many files: one as itself, several together."""
    if errors:
        raise errors[0] if len(errors) == 1 else FatalErrors(errors)
