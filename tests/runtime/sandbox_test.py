"""The environment ``Prompt.format`` renders Jinja in: a safe Jinja2 only, and a budget no template can run past."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest

from prompthooks.hashing import PromptContent
from prompthooks.runtime import PromptFormatError, sandbox, shape
from prompthooks.runtime.prompt import Prompt
from tests.helpers.repos import PROJECT_ROOT


def _prompt(body: str) -> Prompt:
    return shape.build("runaway", "1.0.0", "sha256:x", PromptContent(body, {}), "prompts/runaway.jinja2", source="lock", mlflow_version=None, variables=())


# --- a Jinja2 without known sandbox escapes ------------------------------------------------------------------------


def test_the_jinja2_requirement_excludes_versions_with_known_sandbox_escapes() -> None:
    """pyproject said jinja2>=3.0.  Jinja2 3.1.5's sandbox lets `|attr("format")` reach str.format (CVE-2025-27516,
    fixed in 3.1.6); with it this template renders os.environ, MLFLOW_TRACKING_TOKEN included, into the prompt:

        {{ "{0.__init__.__globals__[os].environ}"|attr("format")(cycler) }}

    (checked by hand with jinja2==3.1.5 in a scratch venv).  An application whose other dependencies hold Jinja2 below
    3.1.6 installed prompthooks without complaint, and "every rendering is sandboxed" no longer held."""
    requirement = re.search(r'"jinja2\s*>=\s*([0-9.]+)"', (PROJECT_ROOT / "pyproject.toml").read_text())
    assert requirement is not None
    floor = tuple(int(part) for part in requirement.group(1).split("."))
    assert floor >= (3, 1, 6), f"jinja2>={requirement.group(1)} admits Jinja2 3.1.5, whose sandbox leaks os.environ"
    assert floor == sandbox.SAFE_JINJA  # what pip enforces is what format() checks


@pytest.mark.parametrize(("installed", "refused"), [("3.1.5", True), ("3.0.3", True), ("2.11.3", True), ("3.1.6", False), ("3.2.0", False)])
def test_format_refuses_to_render_with_a_jinja2_that_has_known_sandbox_escapes(
    monkeypatch: pytest.MonkeyPatch, installed: str, refused: bool
) -> None:
    """Installed beside a dependency that holds Jinja2 back (pip --no-deps, another resolver): nothing renders, and the
    error says to upgrade."""
    import jinja2

    monkeypatch.setattr(jinja2, "__version__", installed)
    prompt = _prompt("Hello {{ person }}.")
    if not refused:
        assert prompt.format(person="Ann") == "Hello Ann."
        return
    with pytest.raises(PromptFormatError, match=rf"prompt runaway 1\.0\.0: Jinja2 {re.escape(installed)} .*CVE-2025-27516.*jinja2>=3\.1\.6"):
        prompt.format(person="Ann")


def test_the_cve_2025_27516_payload_renders_nothing() -> None:
    with pytest.raises(PromptFormatError, match="refused by Jinja's sandbox, nothing ran"):
        _prompt('{{ "{0.__init__.__globals__[os].environ}"|attr("format")(cycler) }}').format()


# --- the budget --------------------------------------------------------------------------------------------------

RUNAWAY = """
import sys, time
sys.path.insert(0, sys.argv[1])
from prompthooks.hashing import PromptContent
from prompthooks.runtime import shape
body = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}{{ person }}"
prompt = shape.build("runaway", "1.0.0", "sha256:x", PromptContent(body, {}), "prompts/runaway.jinja2", source="lock", mlflow_version=None, variables=("person",))
try:
    prompt.format(person="x")
except Exception as error:
    print(type(error).__name__)
"""


def test_format_of_a_runaway_template_is_bounded() -> None:
    """The sandbox capped one range() at 100,000 items but not nesting, string repetition ('x' * 10**9) or output size:
    a template (committed, or served by a registry writer for a version the image does not know) made format() spin
    for hours or allocate gigabytes, in the application's request thread, with no deadline (load() has one; format()
    none)."""
    try:
        subprocess.run([sys.executable, "-c", RUNAWAY, str(PROJECT_ROOT)], timeout=10, capture_output=True, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail("format() of a 10**10-iteration template was still running after 10 s")


RUNAWAYS = {
    "nested loops": "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "nested loops over one list": "{% set l = range(1000)|list %}{% for a in l %}{% for b in l %}{% for c in l %}{% endfor %}{% endfor %}{% endfor %}",
    "string repetition": "{{ 'x' * 10**9 }}",
    "list repetition": "{{ [0] * 10**9 }}",
    "a huge integer": "{{ 10 ** (10 ** 8) }}",
    "a padding method": "{{ 'x'.ljust(10**9) }}",
    "a padding filter": "{{ 'x'|center(10**9) }}",
    "indent": "{{ ('a\n' * 1000000)|indent(1000) }}",
    "a %-format width": "{{ '%999999999s' % 1 }}",
    "a format filter width": "{{ '%999999999s'|format(1) }}",
    "a str.format width": "{{ '{:>999999999}'.format(1) }}",
    "replace": "{{ ('x' * 100000).replace('', 'y' * 1000) }}",
    "join": "{{ (['x' * 5000000] * 1000)|join }}",
    "expandtabs": "{{ ('\t' * 1000000).expandtabs(1000) }}",
    "doubling with ~": "{% set ns = namespace(s='x') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
    "doubling with +": "{% set ns = namespace(s='x') %}{% for i in range(60) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
    "a list doubled in place": "{% set l = [1] %}{% for i in range(60) %}{% do l.extend(l) %}{% endfor %}",
    "set blocks in a loop": "{% for a in range(100000) %}{% set x %}{{ 'y' * 100000 }}{% endset %}{% endfor %}",
    "a filter over a range in a loop": "{% for i in range(100000) %}{{ range(100000)|sum }}{% endfor %}",
    "a comparison over a large value in a loop": "{% for i in range(100000) %}{% if 'y' in doc %}{% endif %}{% endfor %}",
    "a test over a large value in a loop": "{% for i in range(100000) %}{% if doc is in doc %}{% endif %}{% endfor %}",
    "a slice in a loop": "{% for i in range(100000) %}{% set y = doc[1:] %}{% endfor %}",
    "output": "{% for i in range(100000) %}{{ doc }}{% endfor %}",
}


@pytest.mark.parametrize("body", list(RUNAWAYS.values()), ids=list(RUNAWAYS))
def test_a_runaway_template_stops_at_the_budget_with_a_prompt_format_error(body: str) -> None:
    started = time.monotonic()
    with pytest.raises(PromptFormatError, match=r"^prompt runaway 1\.0\.0: stopped by the rendering budget: "):
        _prompt(body).format(doc="x" * 1_000_000)
    assert time.monotonic() - started < 5


def test_the_budget_leaves_ordinary_templates_and_large_values_alone() -> None:
    """Loops, macros, set blocks, filters, comparisons, slices: rendered as Jinja renders them; a 5 MB value passes."""
    import jinja2

    body = (
        "{% macro item(q, a) %}Q: {{ q }}\nA: {{ a }}{% endmacro %}{% set header %}For {{ customer|title }}:{% endset %}{{ header }}\n"
        "{% for ex in examples if ex.a != 'skip' %}{{ loop.index }}. {{ item(ex.q, ex.a) }}{% if not loop.last %}\n{% endif %}{% endfor %}\n"
        "{{ examples[1:]|map(attribute='q')|join(', ') }} {{ '%05d'|format(42) }} {{ '{:>6}'.format('x') }} {{ 2 ** 10 }}"
        " {{ 'ab' * 3 }} {{ [1, 2] + [3] }} {{ doc|length }} {{ 'needle' in doc }}"
    )
    values = {"customer": "ann", "examples": [{"q": "a?", "a": "b"}, {"q": "c?", "a": "skip"}, {"q": "e?", "a": "f"}], "doc": "x" * 5_000_000}
    expected = jinja2.Environment(undefined=jinja2.StrictUndefined, extensions=["jinja2.ext.do"]).from_string(body).render(values)
    assert _prompt(body).format(**values) == expected
    assert _prompt("{{ doc }}").format(doc=values["doc"]) == values["doc"]


def test_each_rendering_has_a_budget_of_its_own() -> None:
    """The budget is per rendering: a prompt rendered many times never runs out."""
    prompt = _prompt("{% for i in range(100000) %}{% endfor %}{{ person }}")
    for _ in range(20):  # 2,000,000 loop iterations in all
        assert prompt.format(person="Ann") == "Ann"
