from __future__ import annotations

import pytest

from prompthooks.deployplan import Move, moves, overwritten, parse_split, with_variant, without_variant
from prompthooks.errors import FatalError
from prompthooks.registry.stored import PromptState


def _states(**aliases: dict[str, int]) -> dict[str, PromptState]:
    return {name: PromptState(name, found, {}) for name, found in aliases.items()}


def test_moves_only_what_differs() -> None:
    states = _states(a={"production": 1}, b={"production": 2}, c={})
    wanted = {("a", "production"): 1, ("b", "production"): 3, ("c", "production"): 1, ("d", "production"): None, ("a", "staging"): None}
    assert moves(wanted, states) == [Move("b", "production", 2, 3), Move("c", "production", None, 1)]
    assert moves({("a", "production"): 1}, states) == []


def test_overwritten_names_every_alias_not_as_wanted() -> None:
    wanted = {("a", "production"): 1, ("b", "production"): 3, ("gone", "production"): None}
    later = _states(a={"production": 1}, b={"production": 4}, gone={"production": 7})
    assert overwritten(wanted, later) == [Move("b", "production", 4, 3), Move("gone", "production", 7, None)]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(None, {}), ("not json", {}), ('["x"]', {}), ('{"p": true}', {}), ('{"p": 80, "p-b": 20}', {"p": 80, "p-b": 20})],
)
def test_parse_split(raw: str | None, expected: dict[str, int]) -> None:
    assert parse_split(raw) == expected


def test_weights() -> None:
    assert with_variant({}, "p", "p-b", 20) == {"p": 80, "p-b": 20}
    assert with_variant({"p": 80, "p-b": 20}, "p", "p-c", 30) == {"p": 50, "p-b": 20, "p-c": 30}
    assert with_variant({"p": 80, "p-b": 20}, "p", "p-b", 10) == {"p": 90, "p-b": 10}
    with pytest.raises(FatalError, match="leaves 0% for p"):
        with_variant({"p": 50, "p-b": 50}, "p", "p-c", 50)
    assert without_variant({"p": 50, "p-b": 20, "p-c": 30}, "p", "p-c") == {"p": 80, "p-b": 20}
    assert without_variant({"p": 80, "p-b": 20}, "p", "p-b") is None
