from __future__ import annotations

import pytest

from prompthooks.config import DEFAULT, Config
from prompthooks.errors import FatalError
from prompthooks.lockplan import Stamp, plan, registry_name
from prompthooks.records import LockEntry, PromptFile

OLD, NEW = "sha256:old", "sha256:new"


def _file(
    version: str | None = None, bump: str | None = None, *, hash_: str = NEW, fm: bool = True, name: str | None = None, variables: tuple[str, ...] = ()
) -> PromptFile:
    return PromptFile(fm, name, version, bump, hash_, variables)


@pytest.mark.parametrize(
    ("file", "base_version", "expected_version", "stamp"),
    [
        # new prompts
        (_file(), None, "1.0.0", Stamp("p/a.md", "1.0.0", False)),
        (_file("2.3.0"), None, "2.3.0", None),
        (_file(fm=False), None, "1.0.0", None),
        (_file(bump="minor"), None, "1.0.0", Stamp("p/a.md", "1.0.0", True)),
        # unchanged content
        (_file("1.2.0", hash_=OLD), "1.2.0", "1.2.0", None),
        (_file("1.2.0", "major", hash_=OLD), "1.2.0", "1.2.0", None),
        (_file(None, hash_=OLD), "1.2.0", "1.2.0", Stamp("p/a.md", "1.2.0", False)),
        (_file("1.2.1", hash_=OLD), "1.2.0", "1.2.0", Stamp("p/a.md", "1.2.0", False)),
        (_file(fm=False, hash_=OLD), "1.2.0", "1.2.0", None),
        # changed content
        (_file("1.2.0"), "1.2.0", "1.2.1", Stamp("p/a.md", "1.2.1", False)),
        (_file("1.2.0", "minor"), "1.2.0", "1.3.0", Stamp("p/a.md", "1.3.0", True)),
        (_file("1.2.0", "major"), "1.2.0", "2.0.0", Stamp("p/a.md", "2.0.0", True)),
        (_file("1.2.0", "patch"), "1.2.0", "1.2.1", Stamp("p/a.md", "1.2.1", True)),
        (_file("1.5.0"), "1.2.0", "1.5.0", None),
        (_file("1.5.0", "major"), "1.2.0", "1.5.0", Stamp("p/a.md", "1.5.0", True)),
        (_file(None), "1.2.0", "1.2.1", Stamp("p/a.md", "1.2.1", False)),
        (_file(fm=False), "1.2.0", "1.2.1", None),
        (_file("1.3.0-rc.1"), "1.2.0", "1.3.0-rc.1", None),
    ],
)
def test_versioning_rules(file: PromptFile, base_version: str | None, expected_version: str, stamp: Stamp | None) -> None:
    baseline = {} if base_version is None else {"a": LockEntry("p/a.md", base_version, OLD)}
    result = plan([("p/a.md", file)], baseline, DEFAULT)
    assert result.entries == {"a": LockEntry("p/a.md", expected_version, file.hash, ())}
    assert result.stamps == ([stamp] if stamp else [])


def test_the_hook_bumps_once_however_often_it_runs() -> None:
    baseline = {"a": LockEntry("p/a.md", "1.2.0", OLD)}
    first = plan([("p/a.md", _file("1.2.0", "minor"))], baseline, DEFAULT)
    assert first.entries["a"].version == "1.3.0"
    # the second run sees the stamped file: version 1.3.0, bump consumed
    second = plan([("p/a.md", _file("1.3.0"))], baseline, DEFAULT)
    assert second.entries == first.entries
    assert second.stamps == []


def test_configured_default_bump_and_initial_version() -> None:
    config = Config(default_bump="minor", initial_version="0.1.0")
    baseline = {"a": LockEntry("p/a.md", "1.2.0", OLD)}
    assert plan([("p/a.md", _file(fm=False))], baseline, config).entries["a"].version == "1.3.0"
    assert plan([("p/b.md", _file(fm=False))], {}, config).entries["b"].version == "0.1.0"


def test_version_regression_is_an_error() -> None:
    baseline = {"a": LockEntry("p/a.md", "1.2.0", OLD)}
    with pytest.raises(FatalError, match="lower than the locked 1.2.0") as raised:
        plan([("p/a.md", _file("1.1.9"))], baseline, DEFAULT)
    assert raised.value.path == "p/a.md"


def test_a_renamed_file_keeping_its_name_keeps_its_version() -> None:
    baseline = {"a": LockEntry("old/a.md", "1.4.0", OLD)}
    result = plan([("new/b.md", _file("1.4.0", name="a", hash_=OLD))], baseline, DEFAULT)
    assert result.entries == {"a": LockEntry("new/b.md", "1.4.0", OLD, ())}
    assert [change.describe() for change in result.changes] == ["a: 1.4.0 -> 1.4.0 (renamed from old/a.md, new/b.md)"]


def test_a_deleted_prompt_leaves_the_lock() -> None:
    result = plan([], {"a": LockEntry("p/a.md", "1.0.0", OLD)}, DEFAULT)
    assert result.entries == {}
    assert [change.describe() for change in result.changes] == ["a: 1.0.0 removed (p/a.md)"]


@pytest.mark.parametrize(
    ("path", "name", "name_from", "expected"),
    [
        ("prompts/assistant_v1.1_strict_json.jinja2", None, "filename", "assistant_v1.1_strict_json"),
        ("a/b/system.jinja2", None, "path", "a.b.system"),
        ("a/b/system.jinja2", "custom", "path", "custom"),
        ("x.md", None, "filename", "x"),
    ],
)
def test_registry_name(path: str, name: str | None, name_from: str, expected: str) -> None:
    assert registry_name(path, _file(name=name), Config(name_from=name_from)) == expected


def test_duplicate_names_name_both_files() -> None:
    with pytest.raises(FatalError, match="'system' is also used by a/system.j2") as raised:
        plan([("a/system.j2", _file()), ("b/system.j2", _file())], {}, DEFAULT)
    assert raised.value.path == "b/system.j2"


@pytest.mark.parametrize(
    ("files", "name_from", "suggests_path"),
    [
        ([("a/system.j2", None), ("b/system.j2", None)], "filename", True),
        ([("a/system.j2", "x"), ("b/x.j2", None)], "filename", True),
        ([("a/system.j2", "x"), ("b/other.j2", "x")], "filename", False),
        ([("a/b.md", None), ("a/b.txt", None)], "path", False),
        ([("a/b.md", "a.c"), ("a/c.txt", None)], "path", False),
    ],
)
def test_duplicate_names_suggest_a_fix_that_helps(files: list[tuple[str, str | None]], name_from: str, suggests_path: bool) -> None:
    with pytest.raises(FatalError, match="is also used by") as raised:
        plan([(path, _file(name=name)) for path, name in files], {}, Config(name_from=name_from))
    message = str(raised.value)
    assert ("name_from" in message) is suggests_path
    assert "'name:' in the front matter" in message and "\n" not in message


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            [("prompts/tone-guide.md", None), ("prompts/tone_guide.md", None)],
            ["prompts/tone_guide.md: prompt name 'tone_guide' and 'tone-guide' (prompts/tone-guide.md) are one environment variable, "
             "PROMPT_TONE_GUIDE_VERSION (prompthooks export, prompthooks.load); give one of them another 'name:' in the front matter"],
        ),
        (
            [("p/x.md", "a.b"), ("p/y.md", "a_b"), ("p/z.md", "A-B")],
            ["p/y.md: prompt name 'a_b' and 'a.b' (p/x.md) are one environment variable, PROMPT_A_B_VERSION",
             "p/z.md: prompt name 'A-B' and 'a.b' (p/x.md) are one environment variable, PROMPT_A_B_VERSION"],
        ),
    ],
)
def test_names_that_are_one_environment_variable_are_refused(files: list[tuple[str, str | None]], expected: list[str]) -> None:
    """`export` and the loader's pin spell a name PROMPT_<NAME>_VERSION: two names spelled alike there are refused at commit."""
    with pytest.raises(FatalError) as raised:
        plan([(path, _file(name=name)) for path, name in files], {}, DEFAULT)
    lines = str(raised.value).splitlines()
    assert len(lines) == len(expected)
    for line, start in zip(lines, expected, strict=True):
        assert line.startswith(start), line


@pytest.mark.parametrize("name", ["my prompt", "a/b", "ünïcode", "a:b", ""])
def test_illegal_names(name: str) -> None:
    with pytest.raises(FatalError, match="not a valid registry name"):
        plan([("p/a.md", _file(name=name))], {}, DEFAULT)


@pytest.mark.parametrize(
    ("old", "new", "file", "expected", "reason"),
    [
        (("q",), ("q",), _file("1.2.0"), "1.2.1", "patch"),
        (("q",), ("q", "tone"), _file("1.2.0"), "2.0.0", "major: adds variable tone, so the default bump patch was too small"),
        (("q",), ("q", "tone"), _file("1.2.0", "minor"), "2.0.0", "major: adds variable tone, so bump: minor in front matter was too small"),
        (("q", "tone"), ("q",), _file("1.2.0"), "1.3.0", "minor: removes variable tone, so the default bump patch was too small"),
        (("q", "tone"), ("q",), _file("1.2.0", "major"), "2.0.0", "major, bump: major in front matter"),
        (("q",), ("q", "x"), _file("1.5.0"), "2.0.0", "major: adds variable x, so 1.5.0 from the front matter was too small"),
        (("q",), ("q", "x"), _file("3.0.0"), "3.0.0", "major, version raised in front matter"),
        (None, ("q", "x"), _file("1.2.0"), "1.2.1", "patch"),
    ],
)
def test_interface_changes_set_the_minimum_bump(
    old: tuple[str, ...] | None, new: tuple[str, ...], file: PromptFile, expected: str, reason: str
) -> None:
    file = file._replace(variables=new)
    baseline = {"a": LockEntry("p/a.md", "1.2.0", OLD, old)}
    result = plan([("p/a.md", file)], baseline, DEFAULT)
    assert result.entries["a"] == LockEntry("p/a.md", expected, NEW, new)
    assert result.changes[0].describe() == f"a: 1.2.0 -> {expected} ({reason}, p/a.md)"


OTHER = "sha256:other"


@pytest.mark.parametrize(
    ("file", "base_version", "retired", "history", "expected"),
    [
        # a returning name starts above its tombstone, whatever its front matter still says
        (_file(), None, {"p": "1.4.0"}, {}, "1.4.1"),
        (_file("1.2.0"), None, {"p": "1.4.0"}, {}, "1.4.1"),
        (_file("1.4.0"), None, {"p": "1.4.0"}, {}, "1.4.1"),
        (_file("3.0.0"), None, {"p": "1.4.0"}, {}, "3.0.0"),  # raised by hand above it: kept
        # ... and above every version its history held
        (_file(), None, {}, {"1.0.0": {OTHER}, "1.1.0": {OTHER}}, "1.1.1"),
        # a version the history gave other content moves above the highest, keeping the bump's level
        (_file(hash_=OLD), "1.0.1", {}, {"1.0.0": {OLD}, "1.0.1": {OLD, OTHER}}, "1.0.2"),
        (_file(bump="minor"), "1.0.0", {}, {"1.0.0": {OLD}, "1.1.0": {OTHER}}, "1.2.0"),
        # a revert: the front matter's older version held this very content; forward, not an error
        (_file("1.0.0", hash_=NEW), "1.0.1", {}, {"1.0.0": {NEW}, "1.0.1": {OLD}}, "1.0.2"),
        # the history agrees: nothing moves
        (_file(hash_=OLD), "1.0.1", {}, {"1.0.0": {OTHER}, "1.0.1": {OLD}}, "1.0.1"),
        (_file(), "1.0.1", {}, {"1.0.0": {OTHER}, "1.0.1": {OLD}}, "1.0.2"),
    ],
)
def test_versions_only_grow(file: PromptFile, base_version: str | None, retired: dict[str, str], history: dict[str, set[str]], expected: str) -> None:
    from prompthooks import versioning
    from prompthooks.lockplan import Held

    baseline = {"p": LockEntry("p/p.md", base_version, OLD)} if base_version else {}
    highest = max(history, key=versioning.parse_version) if history else None
    held = Held({"p": {version: frozenset(hashes) for version, hashes in history.items()}}, {"p": highest} if highest else {})
    result = plan([("p/p.md", file)], baseline, DEFAULT, retired=retired, held=held)
    assert result.entries["p"].version == expected
    assert result.retired == {}


def test_a_removed_prompt_leaves_a_tombstone_at_its_highest_version() -> None:
    baseline = {"gone": LockEntry("p/gone.md", "2.0.0", OLD), "kept": LockEntry("p/kept.md", "1.0.0", OLD)}
    result = plan([("p/kept.md", _file(hash_=OLD, fm=False))], baseline, DEFAULT, retired={"gone": "3.1.0", "older": "1.0.0"})
    assert result.retired == {"gone": "3.1.0", "older": "1.0.0"}
    result = plan([("p/kept.md", _file(hash_=OLD, fm=False))], baseline, DEFAULT, retired={"gone": "1.5.0"})
    assert result.retired == {"gone": "2.0.0"}
