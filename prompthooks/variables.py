"""The variables a template needs: its interface, which decides the minimum version bump.

Where a format declares its inputs (Dotprompt's ``input.schema``, Prompty's
``inputs``), that declaration is the interface.  Otherwise the body is read
with the format's own grammar: Jinja templates (and Prompty files, whose
default engine is Jinja2) are parsed by Jinja2, never rendered; Dotprompt
bodies by a Handlebars-aware reader (``handlebars``); other formats use
``{{ var }}`` placeholders.  The same pass collects the templates a body
includes, extends, imports or uses as partials (its ``references``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from prompthooks.errors import FatalError, raise_collected
from prompthooks.records import (
    DYNAMIC,
    EXTENDS,
    IMPORT,
    IMPORT_WITH_CONTEXT,
    INCLUDE,
    INCLUDE_IF_PRESENT,
    JINJA_EXTENSIONS,
    JINJA_SUFFIXES,
    Interface,
    Reference,
)
from prompthooks.versioning import Increment

if TYPE_CHECKING:
    from jinja2 import nodes

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_]\w*)[^{}]*\}\}")
_MAY_REFERENCE = re.compile(r"\b(?:include|extends|import)\b")

def _prompty_engine(metadata: Mapping[str, Any]) -> str:
    template = metadata.get("template")
    if isinstance(template, str):
        return template
    if isinstance(template, Mapping) and isinstance(template.get("format"), str):
        return str(template["format"])
    return "jinja2"


def uses_jinja(path: str, metadata: Mapping[str, Any]) -> bool:
    if path.endswith(JINJA_SUFFIXES):
        return True
    return path.endswith(".prompty") and _prompty_engine(metadata).lower() in ("jinja2", "jinja")


_MAY_PARTIAL = re.compile(r"\{\{[~\s#]*>")


def may_reference(body: str, path: str, metadata: Mapping[str, Any]) -> bool:
    """Could this body use another template? False means ``analyse`` finds no references (a cheap, conservative test)."""
    if path.endswith(".prompt"):
        return _MAY_PARTIAL.search(body) is not None
    if uses_jinja(path, metadata):
        return _MAY_REFERENCE.search(body) is not None
    return False


def find(body: str, path: str, metadata: Mapping[str, Any], first_body_line: int) -> tuple[str, ...]:
    """The sorted names the template requires from its caller."""
    return analyse(body, path, metadata, first_body_line).required


def analyse(body: str, path: str, metadata: Mapping[str, Any], first_body_line: int) -> Interface:
    """The template's interface and references; a declared interface wins over the body's."""
    declared = declared_interface(path, metadata)
    if path.endswith(".prompt"):
        from prompthooks import handlebars  # only for Dotprompt files the cache does not know

        reading = handlebars.read(body, path, first_body_line)
        found = reading.interface
        if declared is not None:
            raise_collected(_undeclared(reading.first_use, declared, path))
    elif uses_jinja(path, metadata):
        found = _jinja(body, path, first_body_line)
    else:
        found = Interface(tuple(sorted(set(_PLACEHOLDER.findall(body)))), ())
    if declared is None:
        return found
    return Interface(declared.required, declared.optional, found.references)


def _undeclared(first_use: Mapping[str, int], declared: Interface, path: str) -> list[FatalError]:
    """A Dotprompt body reading a variable its ``input.schema`` does not declare: Dotprompt validates the input
    against the schema (Picoschema allows no other keys), so no caller can pass it, yet MLflow's ``format()``
    requires every ``{{ name }}`` it finds, and the lock's interface, which decides version bumps, would miss it."""
    known = {*declared.required, *declared.optional}
    return [
        FatalError(
            f"variable {name!r} is used in the body but not declared in input.schema; declare it ({name}: string, "
            f"or {name}?: string when optional): Dotprompt only accepts declared inputs, and MLflow's format() requires it",
            path=path,
            line=line,
        )
        for name, line in sorted(first_use.items(), key=lambda item: (item[1], item[0]))
        if name not in known
    ]


def prepare_jinja() -> None:
    """Import Jinja2 and build its lexer ahead of the first template to analyse (see ``inputs.collect``)."""
    import jinja2
    from jinja2 import meta  # noqa: F401

    jinja2.Environment(extensions=list(JINJA_EXTENSIONS)).parse("")


def _jinja(body: str, path: str, first_body_line: int) -> Interface:
    import jinja2  # only for templates the cache does not know
    from jinja2 import meta

    environment = jinja2.Environment(extensions=list(JINJA_EXTENSIONS))
    try:
        parsed = environment.parse(body)
    except jinja2.TemplateSyntaxError as error:
        line = first_body_line + (error.lineno or 1) - 1
        raise FatalError(f"invalid Jinja template: {error.message}", path=path, line=line) from None
    names = meta.find_undeclared_variables(parsed)
    # Walk the tree again only where a guard or a reference can be: most templates have neither.
    required = _required_uses(parsed, names) if "defined" in body or "default" in body or "|d(" in body.replace(" ", "") else names
    references = _jinja_references(parsed, first_body_line) if _MAY_REFERENCE.search(body) else ()
    return Interface(tuple(sorted(required)), tuple(sorted(names - required)), references)


def _jinja_references(parsed: nodes.Template, first_body_line: int) -> tuple[Reference, ...]:
    from jinja2 import nodes

    found: list[Reference] = []
    node: Any
    for node in parsed.find_all((nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)):
        construct = type(node).__name__.lower().replace("fromimport", "from-import")
        template = node.template
        if not (isinstance(template, nodes.Const) and isinstance(template.value, str)):
            found.append((DYNAMIC, construct, first_body_line + node.lineno - 1))
            continue
        if isinstance(node, nodes.Extends):
            kind = EXTENDS
        elif isinstance(node, nodes.Include):
            kind = INCLUDE_IF_PRESENT if node.ignore_missing else INCLUDE
        else:
            kind = IMPORT_WITH_CONTEXT if node.with_context else IMPORT
        found.append((kind, template.value, first_body_line + node.lineno - 1))
    return tuple(found)


def _defined_tests(test: nodes.Node) -> set[str]:
    """Names that ``test`` checks with ``is defined``: inside the guarded branch they may be absent."""
    from jinja2 import nodes

    tests = [test, *test.find_all(nodes.Test)]  # find_all skips the node itself
    return {node.node.name for node in tests if isinstance(node, nodes.Test) and node.name == "defined" and isinstance(node.node, nodes.Name)}


def _required_uses(parsed: nodes.Template, names: set[str]) -> set[str]:
    """The names used at least once outside an ``is defined`` guard or a ``| default(...)``."""
    from jinja2 import nodes

    required: set[str] = set()

    def visit(node: Any, guarded: frozenset[str]) -> None:
        if isinstance(node, nodes.Name):
            if node.ctx == "load" and node.name in names and node.name not in guarded:
                required.add(node.name)
            return
        if isinstance(node, nodes.Test) and node.name in ("defined", "undefined") and isinstance(node.node, nodes.Name):
            for child in node.args:
                visit(child, guarded)
            return
        if isinstance(node, nodes.Filter) and node.name in ("default", "d") and isinstance(node.node, nodes.Name):
            for argument in (*node.args, *node.kwargs):
                visit(argument, guarded)
            return
        if isinstance(node, nodes.If):
            inner = guarded | _defined_tests(node.test)
            visit(node.test, inner)
            for statement in node.body:
                visit(statement, inner)
            for other in (*node.elif_, *node.else_):
                visit(other, guarded)
            return
        if isinstance(node, nodes.CondExpr):
            inner = guarded | _defined_tests(node.test)
            visit(node.test, inner)
            visit(node.expr1, inner)
            if node.expr2 is not None:
                visit(node.expr2, guarded)
            return
        for child in node.iter_child_nodes():
            visit(child, guarded)

    visit(parsed, frozenset())
    return required


def _names(value: object) -> list[str]:
    if isinstance(value, Mapping):
        return [str(key) for key in value]
    if isinstance(value, list):
        return [str(item.get("name")) for item in value if isinstance(item, Mapping) and item.get("name") is not None]
    return []


def declared_interface(path: str, metadata: Mapping[str, Any]) -> Interface | None:
    """The inputs a Dotprompt or Prompty file declares, or None when it declares none."""
    if path.endswith(".prompt"):
        declared = metadata.get("input")
        if isinstance(declared, Mapping) and isinstance(declared.get("schema"), Mapping):
            from prompthooks import picoschema

            required, optional = picoschema.inputs(declared["schema"], declared.get("default"))
            return Interface(tuple(sorted(required)), tuple(sorted(optional)))
        return None
    if path.endswith(".prompty"):
        inputs = metadata.get("inputs")
        if not isinstance(inputs, (Mapping, list)) or not inputs:
            return None
        items = inputs.items() if isinstance(inputs, Mapping) else [(item.get("name"), item) for item in inputs if isinstance(item, Mapping)]
        required, optional = set(), set()
        for name, spec in items:
            if name is None:
                continue
            is_optional = isinstance(spec, Mapping) and ("default" in spec or spec.get("required") is False)
            (optional if is_optional else required).add(str(name))
        return Interface(tuple(sorted(required)), tuple(sorted(optional - required)))
    return None


def required_increment(
    old: tuple[str, ...] | None,
    new: tuple[str, ...],
    old_optional: tuple[str, ...] = (),
    new_optional: tuple[str, ...] = (),
) -> tuple[Increment, str]:
    """The smallest bump a change of interface allows, and why.

    A new required variable, or an optional one made required, breaks callers: major.
    A new optional variable, or a removed one, breaks none: minor.
    """
    if old is None:
        return Increment.PATCH, "content changed"
    old_all, new_all = set(old) | set(old_optional), set(new) | set(new_optional)
    added_required = sorted(set(new) - old_all)
    now_required = sorted((set(new) & set(old_optional)) - set(old))
    if added_required:
        return Increment.MAJOR, "adds variable " + ", ".join(added_required)
    if now_required:
        return Increment.MAJOR, "makes optional variable " + ", ".join(now_required) + " required"
    added_optional = sorted(set(new_optional) - old_all)
    if added_optional:
        return Increment.MINOR, "adds optional variable " + ", ".join(added_optional)
    removed = sorted(old_all - new_all)
    if removed:
        return Increment.MINOR, "removes variable " + ", ".join(removed)
    return Increment.PATCH, "content changed"
