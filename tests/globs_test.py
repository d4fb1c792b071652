from __future__ import annotations

import random

import pytest

from prompthooks.config import DEFAULT
from prompthooks.globs import compile_patterns, select


@pytest.mark.parametrize(
    ("path", "selected"),
    [
        ("a.jinja2", True),
        ("deep/er/a.jinja2", True),
        ("x.j2", True),
        ("x.jinja", True),
        ("x.prompt", True),
        ("agents/x.prompty", True),
        ("prompts/a.md", True),
        ("src/prompts/nested/a.txt", True),
        ("prompt/a.md", True),
        ("docs/a.md", False),
        ("README.md", False),
        ("prompts/README.md", False),
        ("a.txt", False),
        ("myprompts/a.md", False),
        ("a.jinja2.bak", False),
    ],
)
def test_default_selection(path: str, selected: bool) -> None:
    assert select([path], DEFAULT.include, DEFAULT.exclude) == ([path] if selected else [])


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("*.md", "a/b/c.md", True),
        ("/a.md", "a.md", True),
        ("/a.md", "x/a.md", False),
        ("templates/*.md", "templates/a.md", True),
        ("templates/*.md", "x/templates/a.md", False),
        ("templates/*.md", "templates/x/a.md", False),
        ("templates/**", "templates/x/a.md", True),
        ("**/legacy/**", "a/legacy/b.j2", True),
        ("a?.md", "ab.md", True),
        ("a?.md", "a/.md", False),
        ("[ab].md", "b.md", True),
        ("[!ab].md", "c.md", True),
        ("[!ab].md", "a.md", False),
    ],
)
def test_patterns(pattern: str, path: str, matches: bool) -> None:
    assert bool(compile_patterns([pattern]).match(path)) is matches


def test_no_patterns_match_nothing() -> None:
    assert select(["a.jinja2"], [], []) == []


@pytest.mark.parametrize("seed", range(30))
def test_patterns_together_match_what_any_one_of_them_matches(seed: int) -> None:
    rng = random.Random(seed)
    parts = ["prompts", "prompt", "a", "*", "**", "?", "[ab]", "*.md", "x.txt", "*.jinja2", "team?"]
    patterns = ["/".join(rng.choice(parts) for _ in range(rng.randint(1, 3))) for _ in range(rng.randint(1, 5))]
    names = ["prompts", "a", "b", "x.txt", "y.md", "t.jinja2", "team1", "src", "z.py"]
    paths = ["/".join(rng.choice(names) for _ in range(rng.randint(1, 4))) for _ in range(200)]
    together = compile_patterns(patterns).match
    alone = [compile_patterns([pattern]).match for pattern in patterns]
    for path in paths:
        assert (together(path) is not None) == any(match(path) is not None for match in alone), (patterns, path)
