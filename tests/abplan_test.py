"""Which arms an A/B report compares, and the window it reads: from the split tag, else from the deployment records."""

from __future__ import annotations

import pytest

from prompthooks.abplan import Arm, Plan, duration_seconds, plans, time_ms, variant_name
from prompthooks.deployplan import Move
from prompthooks.deployrecord import Deployment, Served
from prompthooks.registry.stored import PromptState

ENV = "production"
T0, T1, T2, T3 = "2026-11-01T10:00:00Z", "2026-11-02T10:00:00Z", "2026-11-03T10:00:00Z", "2026-11-04T10:00:00Z"


def record(id_: str, reason: str, at: str, moved: tuple[Move, ...] = (), prompts: dict[str, Served] | None = None, **extra: object) -> Deployment:
    base = Deployment(id_, "READY", ENV, "c0ffee", "main", at, reason, None, None, prompts or {}, moved)
    return base._replace(**extra)  # type: ignore[arg-type]


DEPLOY = record("m-1", "deploy", T0, (Move("a", ENV, None, 1), Move("b", ENV, None, 1)), {"a": Served("1.0.0", 1), "b": Served("1.0.0", 1)})
SPLIT = record(
    "m-2", "split", T1, (Move("a", f"{ENV}--b", None, 2),), {"a": Served("1.0.0", 1), "b": Served("1.0.0", 1)},
    variant=f"{ENV}--b", weight=20, variants={"a": Served("1.0.1", 2)},
)
PROMOTE = record("m-3", "promote", T2, (Move("a", ENV, 1, 2), Move("a", f"{ENV}--b", 2, None)), {"a": Served("1.0.1", 2), "b": Served("1.0.0", 1)})
SPLIT_TAG = '{"production": 80, "production--b": 20}'


def state(name: str, aliases: dict[str, int], split: str | None = SPLIT_TAG) -> PromptState:
    return PromptState(name, aliases, {} if split is None else {f"prompthooks_split_{ENV}": split})


def test_a_live_split_compares_its_aliases_since_the_record_that_split_it() -> None:
    states = {"a": state("a", {ENV: 1, f"{ENV}--b": 2})}
    found, notes = plans(ENV, states, [SPLIT, DEPLOY], [])
    assert found == [Plan("a", (Arm(ENV, 1, 80), Arm(f"{ENV}--b", 2, 20)), True, time_ms(T1), None, "m-2")] and notes == []


def test_a_later_move_of_an_arm_starts_the_window_again() -> None:
    redeploy = record("m-4", "deploy", T3, (Move("a", ENV, 1, 3),), {"a": Served("1.0.2", 3)})
    states = {"a": state("a", {ENV: 3, f"{ENV}--b": 2})}
    [found], _ = plans(ENV, states, [redeploy, SPLIT, DEPLOY], [])
    assert found.start_ms == time_ms(T3) and found.record == "m-4" and found.arms[0] == Arm(ENV, 3, 80)


def test_a_split_set_by_hand_counts_every_linked_trace_and_says_so() -> None:
    [found], notes = plans(ENV, {"a": state("a", {ENV: 1, f"{ENV}--b": 2})}, [], [])
    assert found.start_ms is None and found.record is None
    assert notes == [f"a: no deployment record of {ENV} says when this split began; every trace linked to its arms counts"]


def test_an_arm_pointing_nowhere_is_left_out_and_a_split_without_two_arms_is_not_compared() -> None:
    found, notes = plans(ENV, {"a": state("a", {ENV: 1})}, [SPLIT], [])
    assert found == []
    assert notes == [f"a: split arm {ENV}--b points at no version; left out", f"a: its split in {ENV} has no main arm and a variant to compare"]


def test_an_ended_split_is_read_from_its_record_until_the_record_that_ended_it() -> None:
    history = [PROMOTE, SPLIT, DEPLOY]
    expected = Plan("a", (Arm(ENV, 1, 80), Arm(f"{ENV}--b", 2, 20)), False, time_ms(T1), time_ms(T2), "m-2")
    assert plans(ENV, {}, history, ["a"]) == ([expected], [])
    assert plans(ENV, {}, history, []) == ([expected], [])  # no split now: the newest split record's prompts
    assert plans(ENV, {}, [SPLIT, DEPLOY], []) == ([expected._replace(end_ms=None)], [])  # its split tag gone by hand


def test_a_prompt_never_split_is_named_in_a_note() -> None:
    assert plans(ENV, {}, [PROMOTE, SPLIT, DEPLOY], ["b"]) == ([], [f"b: no split in {ENV}, now or in its deployment records"])
    assert plans(ENV, {}, [DEPLOY], []) == ([], [])


def test_live_splits_come_before_records_and_named_prompts_choose() -> None:
    states = {"a": state("a", {ENV: 1, f"{ENV}--b": 2}), "c": state("c", {ENV: 4, f"{ENV}--b": 5})}
    assert [plan.name for plan in plans(ENV, states, [SPLIT, DEPLOY], [])[0]] == ["a", "c"]
    assert [plan.name for plan in plans(ENV, states, [SPLIT, DEPLOY], ["c"])[0]] == ["c"]


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("30m", 1800), ("12h", 43200), ("7d", 604800), ("2w", 1209600), ("1.5h", 5400), (" 7D ", 604800)])
def test_durations(text: str, seconds: float) -> None:
    assert duration_seconds(text) == seconds


@pytest.mark.parametrize("text", ["7", "d", "-1d", "7 days", "1y"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        duration_seconds(text)


@pytest.mark.parametrize(
    ("text", "ms"),
    [("2026-11-27", 1795737600000), ("2026-11-27T17:30", 1795800600000), ("2026-11-27T17:30:00Z", 1795800600000), ("2026-11-27T19:30:00+02:00", 1795800600000)],
)
def test_times_are_utc_unless_they_say(text: str, ms: int) -> None:
    assert time_ms(text) == ms


def test_variant_names() -> None:
    assert variant_name(ENV, f"{ENV}--b") == "b"
    assert variant_name(ENV, "production-b") == "production-b"  # a split made before variants took "--"
