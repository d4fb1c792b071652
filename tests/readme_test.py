"""The README says each thing once: one exit-code table, no section listing a rule twice, a hook pin that exists."""

from __future__ import annotations

import re
import subprocess

from prompthooks import main
from prompthooks.registry import client
from tests.conftest import PROJECT_ROOT

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


def test_every_subcommand_is_in_the_readme() -> None:
    assert not [name for name in main.SUBCOMMANDS if f"prompthooks {name}" not in README]
