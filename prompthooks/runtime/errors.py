"""What ``load`` and ``Prompt.format`` raise: an application catches these, nothing else."""

from __future__ import annotations


class PromptIntegrityError(Exception):
    """A template does not hash to what it must: the registry's or the deployed tree's copy was changed.

    Never answered by a fallback: serving another copy would hide the tampering.
    """

    def __init__(self, name: str, version: str, expected: str, actual: str, where: str) -> None:
        super().__init__(f"prompt {name} {version}: {where} hashes to {actual}, but it must be {expected}")
        self.name = name
        self.version = version
        self.expected = expected
        self.actual = actual
        self.where = where


class PromptUnavailableError(Exception):
    """No verified copy of the wanted version can be served: the message names what was wanted and why."""

    def __init__(self, name: str, wanted: str, why: str) -> None:
        super().__init__(f"prompt {name} ({wanted}) is unavailable: {why}")
        self.name = name
        self.wanted = wanted
        self.why = why


class PromptFormatError(ValueError):
    """``Prompt.format`` could not render: a variable is missing, or the template is invalid."""
