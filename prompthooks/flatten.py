"""A self-contained copy of a composed prompt, for registries that render templates without a loader.

MLflow renders a Jinja template with ``SandboxedEnvironment(undefined=Undefined)``
and no loader, so ``{% include %}`` cannot work there.  Sync registers the
flattened text instead: includes and Dotprompt partials inlined, ``extends``
resolved into the child's blocks (``{{ super() }}`` replaced by the parent's
block), macros from ``import`` / ``from … import`` defined in place.

Flattening works on the source text; it is then VERIFIED: the original is
rendered by Jinja2 with a loader over the commit's files, the copy the way
MLflow renders it, with the same sample values (every variable set, then only
the required ones).  Any difference, or a construct this module does not
flatten, is a ``NotFlattenable`` naming the construct; nothing is registered.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from prompthooks.composition import candidates
from prompthooks.config import Config
from prompthooks.errors import FatalError
from prompthooks.records import JINJA_EXTENSIONS, PARTIAL, LockEntry, PromptContent

_TAG: Final = re.compile(
    r"\{%-?\s*raw\s*-?%\}.*?\{%-?\s*endraw\s*-?%\}|\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}",
    re.DOTALL,
)
_STATEMENT: Final = re.compile(r"\{%([-+]?)\s*(\w+)(.*?)\s*([-+]?)%\}\Z", re.DOTALL)
_STRING: Final = r"""(?:"([^"\\]*)"|'([^'\\]*)')"""
_INCLUDE: Final = re.compile(rf"\s*{_STRING}\s*(ignore\s+missing\s*)?(with\s+context\s*)?\Z")
_IMPORT: Final = re.compile(rf"\s*{_STRING}\s+as\s+(\w+)\s*(with\s+context\s*|without\s+context\s*)?\Z")
_FROM: Final = re.compile(rf"\s*{_STRING}\s+import\s+(.+?)\s*(with\s+context|without\s+context)?\s*\Z", re.DOTALL)
_SUPER: Final = re.compile(r"\{\{-?\s*super\(\)\s*-?\}\}")
_MLFLOW_SAFE_PREFIX: Final = "{% if true %}"
_MLFLOW_SAFE_SUFFIX: Final = "{% endif %}"


class NotFlattenable(Exception):
    """A construct that cannot be inlined faithfully: the message names it."""


Resolve = Callable[[str, str, str], str]  # (referencing path, kind, name) -> path


class _Piece:
    """A tag found in a template: where it is, and the statement it holds (None for output/comment/raw)."""

    __slots__ = ("end", "keyword", "rest", "start", "strip_after", "strip_before", "text")

    def __init__(self, match: re.Match[str]) -> None:
        self.start, self.end, self.text = match.start(), match.end(), match.group(0)
        statement = _STATEMENT.match(self.text) if self.text.startswith("{%") and not re.match(r"\{%-?\s*raw\b", self.text) else None
        self.keyword = statement.group(2) if statement else None
        self.rest = statement.group(3) if statement else ""
        self.strip_before = bool(statement and statement.group(1) == "-")
        self.strip_after = bool(statement and statement.group(4) == "-")


def _pieces(source: str) -> list[_Piece]:
    return [_Piece(match) for match in _TAG.finditer(source)]


def _literal(match: re.Match[str]) -> str:
    return match.group(1) if match.group(1) is not None else match.group(2)


def _splice(source: str, piece: _Piece, replacement: str, output: list[str], position: int) -> int:
    """Append the text before ``piece`` and ``replacement``; emulate the tag's own whitespace control."""
    before = source[position : piece.start]
    output.append(before.rstrip() if piece.strip_before else before)
    output.append(replacement)
    return piece.end


def _strip_leading(source: str, position: int, strip: bool) -> int:
    if not strip:
        return position
    while position < len(source) and source[position].isspace():
        position += 1
    return position


def _template_text(text: str) -> str:
    """What a loader hands Jinja for a template: one trailing newline is dropped (``keep_trailing_newline=False``)."""
    return text[:-1] if text.endswith("\n") else text


class _Jinja:
    def __init__(self, sources: Mapping[str, str], resolve: Resolve) -> None:
        self.sources = sources
        self.resolve = resolve

    def source(self, path: str, name: str, kind: str, stack: Sequence[str]) -> tuple[str, str]:
        target = self.resolve(path, kind, name)
        if target in stack:
            raise NotFlattenable(f"{kind} {name!r}: a cycle through {target}")
        return target, self.flatten(target, _template_text(self.sources[target]), [*stack, target])

    def macros(self, path: str, flattened: str) -> dict[str, str]:
        """The macro definitions at the top level of an imported template, by name."""
        found: dict[str, str] = {}
        depth = 0
        start = 0
        name = ""
        for piece in _pieces(flattened):
            if piece.keyword == "macro":
                if depth == 0:
                    start, name = piece.start, re.match(r"\s*(\w+)", piece.rest).group(1)  # type: ignore[union-attr]
                depth += 1
            elif piece.keyword == "endmacro":
                depth -= 1
                if depth == 0:
                    found[name] = flattened[start : piece.end]
        return found

    def _imports_as(self, path: str, source: str, stack: Sequence[str]) -> str:
        """``{% import "x" as m %}``: x's macros defined in place, ``m.name`` read as ``name``."""
        while True:
            piece = next((piece for piece in _pieces(source) if piece.keyword == "import"), None)
            if piece is None:
                return source
            match = _IMPORT.match(piece.rest)
            if match is None:
                raise NotFlattenable(f"{{% import{piece.rest} %}}")
            _, text = self.source(path, _literal(match), "import", stack)
            alias = match.group(3)
            after = source[_strip_leading(source, piece.end, piece.strip_after) :]
            if re.search(rf"\b{alias}\b(?!\s*\.\s*\w)", after):
                raise NotFlattenable(f"the imported module {alias!r} used other than as {alias}.<macro>")
            before = source[: piece.start]
            before = before.rstrip() if piece.strip_before else before
            source = before + "".join(self.macros(path, text).values()) + re.sub(rf"\b{alias}\s*\.\s*(\w+)", r"\1", after)

    def flatten(self, path: str, source: str, stack: Sequence[str]) -> str:
        source = self._imports_as(path, source, stack)
        output: list[str] = []
        position = 0
        parent: str | None = None
        for piece in _pieces(source):
            keyword = piece.keyword
            if keyword == "extends":
                match = re.match(rf"\s*{_STRING}\s*\Z", piece.rest)
                if match is None:
                    raise NotFlattenable("a dynamic extends")
                parent = _literal(match)
                replacement = ""
            elif keyword == "include":
                match = _INCLUDE.match(piece.rest)
                if match is None:
                    raise NotFlattenable(f"{{% include{piece.rest} %}} (only a literal name, optionally 'with context')")
                _, replacement = self.source(path, _literal(match), "include", stack)
            elif keyword == "from":
                match = _FROM.match(piece.rest)
                if match is None:
                    raise NotFlattenable(f"{{% from{piece.rest} %}}")
                _, text = self.source(path, _literal(match), "import", stack)
                defined = self.macros(path, text)
                aliases = []
                for item in match.group(3).split(","):
                    parts = item.split()
                    if not parts:
                        continue
                    if parts[0] not in defined:
                        raise NotFlattenable(f"from-import of {parts[0]!r}, which is not a macro")
                    if len(parts) == 3 and parts[1] == "as":
                        aliases.append(f"{{% set {parts[2]} = {parts[0]} %}}")
                    elif len(parts) != 1:
                        raise NotFlattenable(f"from-import item {item.strip()!r}")
                replacement = "".join(defined.values()) + "".join(aliases)
            elif keyword is None and piece.text.startswith("{{") and "self." in piece.text:
                raise NotFlattenable("self.<block>() calls")
            else:
                continue
            position = _splice(source, piece, replacement, output, position)
            position = _strip_leading(source, position, piece.strip_after)
        output.append(source[position:])
        flattened = "".join(output)
        if parent is not None:
            _, base = self.source(path, parent, "extends", stack)
            return _extend(base, flattened)
        return flattened


def _blocks(source: str) -> list[tuple[str, int, int, int, int, _Piece, _Piece]]:
    """Top-level blocks: (name, tag start, body start, body end, tag end, opening, closing)."""
    found = []
    depth = 0
    opening: _Piece | None = None
    name = ""
    for piece in _pieces(source):
        if piece.keyword == "block":
            words = piece.rest.split()
            if depth == 0:
                if any(word in ("scoped", "required") for word in words[1:]):
                    raise NotFlattenable(f"a {' '.join(words[1:])} block")
                opening, name = piece, words[0]
            depth += 1
        elif piece.keyword == "endblock":
            depth -= 1
            if depth == 0 and opening is not None:
                found.append((name, opening.start, opening.end, piece.start, piece.end, opening, piece))
    return found


def _child_blocks(source: str) -> dict[str, str]:
    """Every block a child defines, at any depth, by name: its body as written."""
    found: dict[str, str] = {}
    for name, _, body_start, body_end, _, opening, closing in _blocks(source):
        body = source[body_start:body_end]
        body = body.lstrip() if opening.strip_after else body
        body = body.rstrip() if closing.strip_before else body
        found[name] = body
        found.update({inner: text for inner, text in _child_blocks(body).items() if inner not in found})
    return found


def _resolve_blocks(text: str, overrides: Mapping[str, str]) -> str:
    """``text`` with every block replaced by its final content (the child's, ``super()`` as the parent's)."""
    output: list[str] = []
    position = 0
    for name, start, body_start, body_end, end, opening, closing in _blocks(text):
        before = text[position:start]
        output.append(before.rstrip() if opening.strip_before else before)
        parent_body = text[body_start:body_end]
        if opening.strip_after:
            parent_body = parent_body.lstrip()
        if closing.strip_before:
            parent_body = parent_body.rstrip()
        resolved_parent = _resolve_blocks(parent_body, overrides)
        if name in overrides:
            own = _resolve_blocks(overrides[name], overrides)
            if "super()" in _SUPER.sub("", own):
                raise NotFlattenable("super() used other than as {{ super() }}")
            output.append(resolved_parent.join(_SUPER.split(own)))
        else:
            output.append(resolved_parent)
        position = _strip_leading(text, end, closing.strip_after)
    output.append(text[position:])
    return "".join(output)


def _extend(base: str, child: str) -> str:
    """The parent's text with the child's blocks in place; the child's statements outside blocks kept."""
    overrides = _child_blocks(child)
    outside = []
    position = 0
    for _, start, _, _, end, _, _ in _blocks(child):
        outside.append(child[position:start])
        position = end
    outside.append(child[position:])
    kept = []
    for part in outside:
        for piece in _pieces(part):
            if piece.keyword in ("set", "macro", "endmacro", "endset") or piece.keyword is None and piece.text.startswith("{#"):
                kept.append(piece.text)
            elif piece.keyword is not None:
                raise NotFlattenable(f"{{% {piece.keyword} %}} outside the blocks of a child template")
    return "".join(kept) + _resolve_blocks(base, overrides)


def _partials(path: str, body: str, sources: Mapping[str, str], resolve: Resolve, stack: Sequence[str]) -> str:
    """Dotprompt partials inlined; a standalone ``{{> name}}`` line is replaced whole, indented like Handlebars."""
    from prompthooks import frontmatter

    def replace(match: re.Match[str]) -> str:
        indent, expression, newline = match.group("indent") or "", match.group("expression").strip(), match.group("newline")
        words = expression.split()
        if len(words) != 1 or words[0].startswith("("):
            raise NotFlattenable(f"a partial with arguments or a dynamic name: {{{{> {expression}}}}}")
        target = resolve(path, PARTIAL, words[0].strip("'\""))
        if target in stack:
            raise NotFlattenable(f"partial {words[0]!r}: a cycle through {target}")
        text = frontmatter.parse(sources[target], target).body
        text = _partials(target, text, sources, resolve, [*stack, target])
        if newline is None:
            return indent + text
        lines = text.splitlines(keepends=True)
        return "".join(indent + line if line.strip() else line for line in lines)

    standalone = re.compile(r"^(?P<indent>[ \t]*)\{\{>(?P<expression>[^}]*)\}\}[ \t]*(?P<newline>\r?\n|\Z)", re.MULTILINE)
    body = standalone.sub(replace, body)
    inline = re.compile(r"\{\{>(?P<expression>[^}]*)\}\}")
    return inline.sub(lambda match: _inline_partial(match, path, sources, resolve, stack), body)


def _inline_partial(match: re.Match[str], path: str, sources: Mapping[str, str], resolve: Resolve, stack: Sequence[str]) -> str:
    from prompthooks import frontmatter

    words = match.group("expression").split()
    if len(words) != 1 or words[0].startswith("("):
        raise NotFlattenable(f"a partial with arguments or a dynamic name: {match.group(0)}")
    target = resolve(path, PARTIAL, words[0].strip("'\""))
    text = frontmatter.parse(sources[target], target).body
    return _partials(target, text, sources, resolve, [*stack, target])


def resolver(files: Mapping[str, str], config: Config) -> Resolve:
    def resolve(path: str, kind: str, name: str) -> str:
        for candidate in candidates(path, kind, name, config):
            if candidate in files:
                return candidate
        raise NotFlattenable(f"{kind} {name!r}: not found")

    return resolve


def flatten(path: str, body: str, sources: Mapping[str, str], config: Config, *, jinja: bool) -> str:
    """The self-contained text of the prompt at ``path`` (``sources``: every file of the commit, LF endings)."""
    resolve = resolver(sources, config)
    if not jinja:
        return _partials(path, body, sources, resolve, [path])
    flattened = _Jinja(sources, resolve).flatten(path, body, [path])
    if "{%" not in flattened:
        # MLflow renders a template with Jinja only when it holds a statement; keep it a Jinja template.
        # Jinja drops one trailing newline of a template's source: drop it here, where it stops being trailing.
        flattened = _MLFLOW_SAFE_PREFIX + _template_text(flattened) + _MLFLOW_SAFE_SUFFIX
    return flattened


def sample_values(required: Sequence[str], optional: Sequence[str]) -> list[dict[str, Any]]:
    """Values to render both copies with: every variable, then the required ones only."""
    everything = {name: f"<{name} sample>" for name in (*required, *optional)}
    return [everything, {name: everything[name] for name in required}]


def _render_original(path: str, body: str, sources: Mapping[str, str], config: Config, values: Mapping[str, Any]) -> str:
    """The framework's own rendering: Jinja2 with a loader over the commit's files along the search path."""
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    def load(name: str) -> str | None:
        for candidate in candidates(path, "include", name, config):
            if candidate in sources:
                return sources[candidate]
        return None

    # Sandboxed, as every rendering of prompthooks is: a committed template never runs code in CI either.
    environment = SandboxedEnvironment(loader=jinja2.FunctionLoader(load), extensions=list(JINJA_EXTENSIONS))
    return environment.from_string(body).render(**values)


def render_like_mlflow(template: str, values: Mapping[str, Any]) -> str:
    """What ``mlflow.genai.load_prompt(...).format(**values)`` does with a Jinja text template."""
    from jinja2 import Undefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(undefined=Undefined).from_string(template).render(**values)


def verify(
    path: str,
    body: str,
    flattened: str,
    sources: Mapping[str, str],
    config: Config,
    required: Sequence[str],
    optional: Sequence[str],
    constructs: str = "",
) -> None:
    """Refuse a flattened copy that renders differently from the original, or that cannot be compared."""
    compared = 0
    for values in sample_values(required, optional):
        try:
            expected = _render_original(path, body, sources, config, values)
        except Exception:  # a template that fails with these sample values: nothing to compare
            continue
        try:
            actual = render_like_mlflow(flattened, values)
        except Exception as error:
            raise NotFlattenable(f"the flattened copy fails where the original renders ({type(error).__name__}: {error})") from None
        if actual != expected:
            raise NotFlattenable(f"the flattened copy renders differently from the original with the same values{constructs}")
        compared += 1
    if not compared:
        raise NotFlattenable("the original does not render with sample values, so the flattened copy cannot be checked")


def self_contained(entry: LockEntry, content: PromptContent, sources: Mapping[str, str], config: Config, *, check: bool = True) -> str:
    """The self-contained template sync registers for a composed prompt; a FatalError names what cannot be inlined.

    ``sources``: the files it uses (every file of the commit will do), LF endings.  Sync checks the copy
    renders like the original (``check``); the runtime loader makes the same copy from the deployed tree
    only to know the hash the registry's text must have, so it skips that.
    """
    from prompthooks import variables

    jinja = variables.uses_jinja(entry.path, content.metadata)
    try:
        text = flatten(entry.path, content.body, sources, config, jinja=jinja)
        if jinja and check:
            constructs = sorted({kind for path in sources for kind, _, _ in _references(sources, path, entry)})
            note = f" (it uses {', '.join(constructs)})" if constructs else ""
            verify(entry.path, content.body, text, sources, config, entry.variables or (), entry.optional, note)
    except NotFlattenable as error:
        raise FatalError(f"cannot be registered as a self-contained template: {error}", path=entry.path) from None
    return text


def _references(sources: Mapping[str, str], path: str, entry: LockEntry) -> list[tuple[str, str, int]]:
    if path != entry.path and path not in entry.dependencies:
        return []
    from prompthooks import promptfile, variables

    body = promptfile.load(sources[path].encode(), path).content.body
    return list(variables.analyse(body, path, {}, 1).references)
