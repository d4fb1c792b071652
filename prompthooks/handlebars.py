"""A Handlebars-aware reading of Dotprompt bodies: the variables they read and the partials they use.

Not a renderer: it knows enough of the grammar to tell a variable from a helper,
a keyword or a block parameter.  ``{{name}}`` reads ``name``; ``{{helper arg
key=value}}`` reads ``arg`` and ``value``; ``{{else}}``, ``this``, ``@index``
and comments read nothing; inside ``{{#each}}`` and ``{{#with}}`` names belong to
the item, unless reached through ``@root.`` or ``../``.  A variable only used
inside ``{{#if name}}`` (or as its condition) is optional.
"""

from __future__ import annotations

import re
from typing import Final, NamedTuple

from prompthooks.errors import FatalError
from prompthooks.records import DYNAMIC, PARTIAL, Interface, Reference

# Dotprompt's built-in helpers (a bare ``{{history}}`` is a helper call, not a variable).
HELPERS: Final = frozenset({"json", "role", "history", "section", "media", "ifEquals", "unlessEquals", "log", "lookup"})
KEYWORDS: Final = HELPERS | {"else", "this"}  # a bare ``{{else}}`` or ``{{history}}`` reads no variable
CONTEXT_BLOCKS: Final = frozenset({"each", "with"})
GUARD_BLOCKS: Final = frozenset({"if", "unless"})
_TOKEN: Final = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<params>as\s*\|[^|]*\|)
      | (?P<key>[A-Za-z_@$][\w$-]*)=
      | (?P<open>\()
      | (?P<close>\))
      | (?P<word>[^\s()=|]+)
    )""",
    re.VERBOSE,
)
_LITERAL: Final = re.compile(r"-?\d+(?:\.\d+)?\Z|true\Z|false\Z|null\Z|undefined\Z")


class _Frame(NamedTuple):
    helper: str
    changes_context: bool
    params: frozenset[str]
    guard: str | None  # the variable an ``{{#if}}`` tests, while in its first branch


class _Reader:
    def __init__(self, path: str, first_line: int) -> None:
        self.path = path
        self.first_line = first_line
        self.frames: list[_Frame] = []
        self.required: set[str] = set()
        self.guarded: set[str] = set()
        self.references: list[Reference] = []
        self.line = 1  # the body line of the tag being read
        self.first_use: dict[str, int] = {}  # variable -> the file line where the body first reads it

    def error(self, message: str, line: int) -> FatalError:
        return FatalError(f"invalid Handlebars template: {message}", path=self.path, line=self.first_line + line - 1)

    def use(self, path: str, *, guard_ok: bool = False) -> None:
        """Record the variable a path expression reads, if it reads one from the caller."""
        if _LITERAL.match(path) or path in ("this", "."):
            return
        depth = sum(frame.changes_context for frame in self.frames)
        if path.startswith("@root."):
            path, depth = path[len("@root.") :], 0
        elif path.startswith("@"):
            return
        while path.startswith("../"):
            path, depth = path[3:], depth - 1
        if path.startswith("this.") or path.startswith("./"):
            path = path.split(".", 1)[1].lstrip("/")
        head = re.split(r"[./\[]", path, maxsplit=1)[0]
        if not head or any(head in frame.params for frame in self.frames) or depth > 0:
            return
        self.first_use.setdefault(head, self.first_line + self.line - 1)
        guards = {frame.guard for frame in self.frames}
        if guard_ok or head in guards:
            self.guarded.add(head)
        else:
            self.required.add(head)

    def arguments(self, text: str, line: int) -> tuple[str | None, list[str], frozenset[str]]:
        """(first word, the paths read as arguments, block parameters) of an expression."""
        words: list[str] = []
        params: set[str] = set()
        first: str | None = None
        helper_next = True
        position = 0
        text = text.strip()
        while position < len(text):
            match = _TOKEN.match(text, position)
            if match is None or match.end() == position:
                raise self.error(f"cannot read {{{{{text}}}}}", line)
            position = match.end()
            if match.group("open"):
                helper_next = True
                continue
            word = match.group("word")
            if match.group("params"):
                params.update(match.group("params")[2:].strip(" |").split())
            elif word is not None:
                if first is None:
                    first = word
                elif helper_next:
                    pass  # a subexpression's helper
                else:
                    words.append(word)
            helper_next = False
        return first, words, frozenset(params)

    def mustache(self, text: str, line: int) -> None:
        first, words, _ = self.arguments(text, line)
        if first is None:
            return
        if not words and "=" not in text and first not in HELPERS:
            self.use(first)
            return
        for word in words:
            self.use(word)

    def open_block(self, text: str, line: int) -> None:
        first, words, params = self.arguments(text, line)
        if first is None:
            raise self.error("a block without a helper", line)
        guard = words[0] if first in GUARD_BLOCKS and len(words) == 1 and first == "if" else None
        for word in words:
            self.use(word, guard_ok=guard is not None)
        self.frames.append(_Frame(first, first in CONTEXT_BLOCKS, params, guard))

    def inverse(self, text: str, line: int) -> None:
        if not self.frames:
            raise self.error("{{else}} outside a block", line)
        top = self.frames[-1]
        self.frames[-1] = top._replace(guard=None, changes_context=False, params=frozenset())
        if text.strip():  # {{else if cond}}
            first, words, _ = self.arguments(text, line)
            for word in words:
                self.use(word)

    def close_block(self, text: str, line: int) -> None:
        name = text.strip()
        if not self.frames or self.frames[-1].helper != name:
            expected = self.frames[-1].helper if self.frames else "no open block"
            raise self.error(f"{{{{/{name}}}}} does not close {{{{#{expected}}}}}", line)
        self.frames.pop()

    def partial(self, text: str, line: int, block: bool) -> None:
        text = text.strip()
        if text.startswith("("):
            self.references.append((DYNAMIC, "partial", self.first_line + line - 1))
        else:
            name, words, _ = self.arguments(text, line)
            self.references.append((PARTIAL, (name or "").strip("'\""), self.first_line + line - 1))
            for word in words:
                self.use(word)
        if block:
            self.frames.append(_Frame(text.split()[0] if text else "", False, frozenset(), None))


def _tags(body: str) -> list[tuple[str, int]]:
    """The contents of every ``{{...}}`` tag (comments dropped), with its body line."""
    found: list[tuple[str, int]] = []
    position = 0
    while True:
        start = body.find("{{", position)
        if start == -1:
            return found
        if start > 0 and body[start - 1] == "\\":
            position = start + 2
            continue
        line = body.count("\n", 0, start) + 1
        inner = start + 2
        if body.startswith("{", inner):
            end = body.find("}}}", inner)
            closer = 3
        elif body.startswith(("!--", "~!--"), inner):
            end = body.find("--", body.find("!--", inner) + 3)
            end = body.find("}}", end) if end != -1 else -1
            closer = 2
        else:
            end = body.find("}}", inner)
            closer = 2
        if end == -1:
            raise FatalError("invalid Handlebars template: '{{' is never closed", line=line)
        text = body[inner:end].strip("~ \t\r\n")
        if text.startswith("{"):
            text = text[1:].strip("~ \t\r\n")
        if not text.startswith("!"):
            found.append((text, line))
        position = end + closer


class Reading(NamedTuple):
    interface: Interface
    first_use: dict[str, int]  # every variable the body reads -> the file line of its first use


def analyse(body: str, path: str, first_body_line: int) -> Interface:
    """The variables a Dotprompt body reads (required, optional) and the partials it uses."""
    return read(body, path, first_body_line).interface


def read(body: str, path: str, first_body_line: int) -> Reading:
    """``analyse``, and where each variable is first read (for errors naming the line)."""
    reader = _Reader(path, first_body_line)
    try:
        tags = _tags(body)
    except FatalError as error:
        raise FatalError(error.message, path=path, line=first_body_line + (error.line or 1) - 1) from None
    for text, line in tags:
        reader.line = line
        if text.startswith("#>"):
            reader.partial(text[2:], line, block=True)
        elif text.startswith("#*"):
            reader.frames.append(_Frame(text[2:].split()[0] if text[2:].split() else "", False, frozenset(), None))
        elif text.startswith("#"):
            reader.open_block(text[1:], line)
        elif text.startswith("/"):
            reader.close_block(text[1:], line)
        elif text.startswith(">"):
            reader.partial(text[1:], line, block=False)
        elif text == "^" or text == "else" or text.startswith("else "):
            reader.inverse(text[4:] if text.startswith("else") else "", line)
        elif text.startswith("^"):
            reader.open_block("if " + text[1:], line)
        else:
            reader.mustache(text.lstrip("&"), line)
    if reader.frames:
        raise reader.error(f"{{{{#{reader.frames[-1].helper}}}}} is never closed", body.count("\n") + 1)
    required = reader.required
    interface = Interface(tuple(sorted(required)), tuple(sorted(reader.guarded - required)), tuple(reader.references))
    return Reading(interface, reader.first_use)


# MLflow's ``PromptVersion.format()`` on a text without ``{%``: a regular-expression substitution of
# ``{{ name }}`` for each value passed (``mlflow.genai.prompts.utils.format_prompt``), every ``{{ name }}``
# or ``{{ a.b }}`` required (``PROMPT_TEMPLATE_VARIABLE_PATTERN``).  Only a plain name renders as Dotprompt would.
_MLFLOW_RENDERS: Final = re.compile(r"\{\{\s*[A-Za-z_][A-Za-z0-9_]*\s*\}\}\Z")
_ANY_TAG: Final = re.compile(r"\{\{!--.*?--\}\}|\{\{\{.*?\}\}\}|\{\{.*?\}\}", re.DOTALL)
_PARTIAL_TAG: Final = re.compile(r"\{\{~?\s*>")  # inlined by sync: the registered copy holds the partial's text


class Unrenderable(NamedTuple):
    tag: str  # as written, e.g. ``{{#if style}}``
    line: int  # in the file


def mlflow_unrenderable(body: str, first_body_line: int) -> list[Unrenderable]:
    """The Handlebars tags MLflow's ``format()`` leaves as written (blocks, ``else``, helpers, comments,
    ``{{{raw}}}``, ``~`` whitespace control, ``\\{{escapes}}``, dotted paths), in order; partials are not among them:
    sync registers a Dotprompt with its partials inlined."""
    found: list[Unrenderable] = []
    for match in _ANY_TAG.finditer(body):
        tag, start = match.group(), match.start()
        escaped = start > 0 and body[start - 1] == "\\"  # Handlebars prints \{{x}} as {{x}}; MLflow substitutes x
        plain = _MLFLOW_RENDERS.match(tag) is not None and tag.strip("{} \t\r\n") not in KEYWORDS
        if (plain and not escaped) or _PARTIAL_TAG.match(tag):
            continue
        found.append(Unrenderable("\\" + tag if escaped else tag, first_body_line + body.count("\n", 0, start)))
    return found
