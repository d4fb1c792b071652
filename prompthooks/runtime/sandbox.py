"""The Jinja2 environment ``Prompt.format`` renders in: Jinja's sandbox, the verified files only, and a budget.

- **The sandbox**: Jinja2's ``SandboxedEnvironment`` (as MLflow's ``PromptVersion.format`` uses), refused
  outright with a Jinja2 older than 3.1.6, whose sandbox lets ``|attr("format")`` reach ``str.format``
  (CVE-2025-27516).
- **The verified files only**: ``{% include %}``, ``{% extends %}`` and ``{% import %}`` read the files of the
  prompt's closure as ``load`` hashed them (``Includes``), looked up along the search path as the hook resolved
  them; never the disk again, so a file changed after ``load`` is not rendered as verified.
- **A budget** per rendering: the sandbox stops a template from reaching Python, not from looping or
  allocating without end.  Every loop iteration, call, filter, test and intercepted operator is a step
  (``MAX_STEPS``).  Every string or collection a template makes (``~``, ``+``, ``*``, ``%``, a slice, a
  ``{% set %}`` block, a call's or filter's result, what a list method adds) or reads (a filter's or
  test's arguments, both sides of a comparison, the output) is counted in characters or items
  (``MAX_WORK``); no value it makes, and not the output, may be longer than ``MAX_SIZE``.  Operations
  whose result size an argument decides (``'x' * n``, ``n ** m``, ``center(n)``, ``ljust(n)``,
  ``indent(n)``, a format width, ``replace``, ``join``) are refused before they allocate.  Past a limit
  the rendering stops with ``BudgetExceeded``.

Jinja2 is imported when the first environment is made, never by importing this module.
"""

from __future__ import annotations

import contextvars
import functools
import re
import string
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final, NamedTuple, cast

from prompthooks.records import JINJA_EXTENSIONS

if TYPE_CHECKING:
    from jinja2 import Template
    from jinja2.sandbox import SandboxedEnvironment

    from prompthooks.config import Config

SAFE_JINJA: Final = (3, 1, 6)  # CVE-2025-27516: the sandbox of 3.1.5 and older leaks str.format
MAX_STEPS: Final = 1_000_000  # loop iterations, calls, filters and intercepted operators in one rendering
MAX_SIZE: Final = 10_000_000  # characters (or items) of the output, and of any one string or collection a template makes
MAX_WORK: Final = 100_000_000  # characters (or items) a rendering may make and read in all
MAX_INT_BITS: Final = 100_000  # an integer a template computes with ``*`` or ``**`` (30,000 digits)
# The environment's own filters, which the budget rewrites loops, ``~``, ``{% set %}`` blocks and comparisons into:
# names no template can write.
LOOP: Final = "prompthooks:loop"
MADE: Final = "prompthooks:made"
READ: Final = "prompthooks:read"
_SIZED: Final = (str, bytes, list, tuple, dict, set, frozenset, range)
_MUTABLE: Final = (list, dict, set)
_WIDTH_METHODS: Final = frozenset({"center", "ljust", "rjust", "zfill"})
_PRINTF: Final = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_DIGITS: Final = re.compile(r"\d+")


class OutdatedJinja(Exception):
    """The installed Jinja2 has known sandbox escapes: nothing is rendered with it."""


class BudgetExceeded(Exception):
    """A rendering went past ``MAX_STEPS``, ``MAX_WORK`` or ``MAX_SIZE``, or asked for a value larger than it has left."""


class Includes(NamedTuple):
    """What a file-mode Jinja prompt's ``{% include %}`` and its kin may read: its closure, as verified."""

    path: str  # the prompt's path in the tree: the search path's "." is its folder
    files: tuple[tuple[str, str], ...]  # (path, text with LF endings) of every verified file of its closure, itself included
    settings: Config  # its ``search_path`` orders the lookup, as the hook resolved the closure


class Budget:
    """What one rendering may still spend."""

    __slots__ = ("steps", "work")

    def __init__(self) -> None:
        self.steps = MAX_STEPS
        self.work = MAX_WORK

    def step(self) -> None:
        self.steps -= 1
        if self.steps < 0:
            raise BudgetExceeded(f"the template takes more than {MAX_STEPS:,} steps (loop iterations, calls, filters, operators)")

    def afford(self, size: int) -> None:
        """Refuse, before it is made, a value larger than ``MAX_SIZE`` or than the work left."""
        if size > MAX_SIZE:
            raise BudgetExceeded(f"the template makes a value of more than {MAX_SIZE:,} characters (or items)")
        if size > self.work:
            raise BudgetExceeded(f"the template makes and reads more than {MAX_WORK:,} characters (or items) in all")

    def read(self, value: object) -> None:
        if isinstance(value, _SIZED):
            self.work -= len(value)
            if self.work < 0:
                raise BudgetExceeded(f"the template makes and reads more than {MAX_WORK:,} characters (or items) in all")

    def made(self, value: object) -> None:
        if isinstance(value, _SIZED):
            self.afford(len(value))
            self.work -= len(value)


_budget: Final[contextvars.ContextVar[Budget]] = contextvars.ContextVar("prompthooks_render_budget")


def _current() -> Budget:
    """The rendering's budget; LookupError outside a rendering (Jinja's compile-time folding then leaves it to run time)."""
    return _budget.get()


def render(template: Template, values: Mapping[str, Any]) -> str:
    """``template`` rendered with ``values`` within a fresh budget."""
    budget = Budget()
    token = _budget.set(budget)
    try:
        parts = []
        size = 0
        for chunk in template.generate(values):  # the output, and in it the text of loops and includes
            size += len(chunk)
            if size > MAX_SIZE:
                raise BudgetExceeded(f"the rendered prompt is longer than {MAX_SIZE:,} characters")
            budget.read(chunk)
            parts.append(chunk)
        return "".join(parts)
    finally:
        _budget.reset(token)


@functools.lru_cache(maxsize=4)
def _jinja_version(text: str) -> tuple[int, ...]:
    match = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    return tuple(int(part or 0) for part in match.groups()) if match else (0,)


def require_safe_jinja() -> None:
    """``OutdatedJinja`` when the installed Jinja2 is older than ``SAFE_JINJA``."""
    import jinja2

    version = getattr(jinja2, "__version__", None)
    if version is None:
        from importlib.metadata import version as installed

        version = installed("jinja2")
    if _jinja_version(version) < SAFE_JINJA:
        floor = ".".join(map(str, SAFE_JINJA))
        raise OutdatedJinja(
            f"Jinja2 {version} is installed, whose sandbox has known escapes (CVE-2025-27516, fixed in {floor}): "
            f"nothing is rendered with it; upgrade it: pip install 'jinja2>={floor}'"
        )


# --- what an operation would make, before it makes it ------------------------------------------------------------


def _as_int(value: object) -> int:
    return value if isinstance(value, int) else 0


def _afford_printf(budget: Budget, text: str) -> None:
    """``%``-formatting: refuse a width or precision larger than the budget, and a width taken from the arguments."""
    for match in _PRINTF.finditer(text):
        for size in match.groups():
            if size == "*":
                raise BudgetExceeded("a '*' width or precision in a %-format (write the number in the format)")
            if size:
                budget.afford(int(size))


def _afford_format(budget: Budget, text: str, args: Iterable[object]) -> None:
    """``str.format``: refuse a field width or precision larger than the budget (one given as an argument included)."""
    try:
        fields = list(string.Formatter().parse(text))
    except ValueError:
        return  # str.format raises it again, as Python does
    for _, _, spec, _ in fields:
        if spec:
            for digits in _DIGITS.findall(spec):
                budget.afford(int(digits))
            if "{" in spec:
                budget.afford(max((_as_int(arg) for arg in args), default=0))


def _afford_replace(budget: Budget, text: str, old: object, new: object) -> None:
    if isinstance(old, str) and isinstance(new, str) and len(new) > len(old):
        budget.afford(len(text) + text.count(old) * (len(new) - len(old)))


def _afford_join(budget: Budget, separator: object, items: object) -> None:
    """``sep.join(items)``, ``|join``, ``|sum``: as long as the items together."""
    if isinstance(items, (list, tuple)):
        budget.read(items)
        size = sum(len(item) for item in items if isinstance(item, _SIZED))
        budget.afford(size + (len(separator) if isinstance(separator, str) else 0) * len(items))


def _afford_product(budget: Budget, left: object, right: object) -> None:
    if isinstance(left, int) and isinstance(right, int):
        if left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise BudgetExceeded(f"an integer of more than {MAX_INT_BITS:,} bits")
        return
    sequence, times = (left, right) if isinstance(right, int) else (right, left)
    if isinstance(sequence, _SIZED) and isinstance(times, int):
        budget.afford(len(sequence) * times)


def _afford_power(left: object, right: object) -> None:
    if isinstance(left, int) and isinstance(right, int) and right > 0 and left.bit_length() * right > MAX_INT_BITS:
        raise BudgetExceeded(f"an integer of more than {MAX_INT_BITS:,} bits")


def _afford_call(budget: Budget, function: object, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    """A str method whose result size an argument decides; what a list, dict or set method adds to it."""
    wrapped = getattr(function, "__wrapped__", function)  # the sandbox's wrapper of str.format / format_map
    owner, name = getattr(wrapped, "__self__", None), getattr(wrapped, "__name__", "")
    arguments = [*args, *kwargs.values()]
    if isinstance(owner, str):
        if name in _WIDTH_METHODS:
            budget.afford(max((_as_int(arg) for arg in arguments), default=0))
        elif name == "expandtabs":
            budget.afford(len(owner) + owner.count("\t") * max((_as_int(arg) for arg in arguments), default=8))
        elif name == "replace" and len(args) >= 2:
            _afford_replace(budget, owner, args[0], args[1])
        elif name in ("format", "format_map"):
            _afford_format(budget, owner, arguments)
        elif name == "join" and args:
            _afford_join(budget, owner, args[0])
    elif isinstance(owner, _MUTABLE):  # ``extend``, ``update``: a list doubled in a loop grows without a new value made
        for argument in arguments:
            if not isinstance(argument, (str, bytes)):
                budget.made(argument)


def _afford_filter(budget: Budget, name: str, value: object, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    """The filters whose result size an argument decides (no test has these names)."""
    if name in ("join", "sum"):
        _afford_join(budget, kwargs.get("d", args[0] if args and name == "join" else ""), value)
    if not isinstance(value, str):
        return
    if name in ("center", "indent"):
        width = kwargs.get("width", args[0] if args else 0)
        size = len(width) if isinstance(width, str) else _as_int(width)
        budget.afford(size if name == "center" else len(value) + (value.count("\n") + 1) * size)
    elif name == "format":
        _afford_printf(budget, value)
    elif name == "replace" and len(args) >= 2:
        _afford_replace(budget, value, args[0], args[1])


def _budgeted(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """The filter or test, counted: a step, what it reads and what it makes; refused before it makes too much."""
    passes_first = getattr(function, "jinja_pass_arg", None) is not None  # a context, eval context or environment

    @functools.wraps(function)  # keeps jinja_pass_arg
    def budgeted(*args: Any, **kwargs: Any) -> Any:
        budget = _current()
        budget.step()
        own = args[1:] if passes_first else args
        for argument in own:
            budget.read(argument)
        if own:
            _afford_filter(budget, name, own[0], own[1:], kwargs)
        result = function(*args, **kwargs)
        budget.made(result)
        return result

    return budgeted


def _loop(iterable: Iterable[Any]) -> Iterator[Any]:
    """A loop's items, a step each (the budget is looked up now: Jinja's compile-time folding gets a LookupError)."""
    return _steps(_current(), iterable)


def _steps(budget: Budget, iterable: Iterable[Any]) -> Iterator[Any]:
    for item in iterable:
        budget.step()
        yield item


def _made(value: Any) -> Any:
    _current().made(value)
    return value


def _read(value: Any) -> Any:
    _current().read(value)
    return value


# --- the environment ---------------------------------------------------------------------------------------------


@functools.cache
def _environment_class() -> type[SandboxedEnvironment]:
    from jinja2 import nodes
    from jinja2.runtime import Context, LoopContext
    from jinja2.sandbox import SandboxedEnvironment
    from jinja2.visitor import NodeTransformer

    def counted(name: str, node: nodes.Expr | None, lineno: int) -> nodes.Filter:
        return nodes.Filter(node, name, [], [], None, None, lineno=lineno)

    class Counting(NodeTransformer):
        """Routes what has no sandbox hook of its own through the budget: loops, ``~``, ``{% set %}`` blocks, slices, comparisons.

        Direct calls of the environment's own filters: a sandboxed call costs microseconds, and a template has many.
        """

        def visit_For(self, node: nodes.For) -> nodes.Node:
            self.generic_visit(node)
            node.iter = counted(LOOP, cast("nodes.Expr", node.iter), node.lineno)
            return node

        def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
            self.generic_visit(node)
            return counted(MADE, node, node.lineno)

        def visit_AssignBlock(self, node: nodes.AssignBlock) -> nodes.Node:
            self.generic_visit(node)
            inner = node.filter  # applied to the block's text first; None: the text itself
            node.filter = counted(MADE, inner, node.lineno)
            return node

        def visit_Getitem(self, node: nodes.Getitem) -> nodes.Node:
            self.generic_visit(node)
            return counted(MADE, node, node.lineno) if isinstance(node.arg, nodes.Slice) else node  # a copy, made by Python

        def visit_Compare(self, node: nodes.Compare) -> nodes.Node:  # ``in``, ``==``: as long as what they read
            self.generic_visit(node)
            node.expr = counted(READ, node.expr, node.lineno)
            for operand in node.ops:
                operand.expr = counted(READ, operand.expr, node.lineno)
            return node

    class BudgetedSandbox(SandboxedEnvironment):
        intercepted_binops = frozenset({"*", "**", "+", "%"})

        def _generate(self, source: nodes.Template, name: str | None, filename: str | None, defer_init: bool = False) -> str:
            return super()._generate(Counting().visit(source), name, filename, defer_init)

        def call(self, context: Context, function: Any, /, *args: Any, **kwargs: Any) -> Any:
            budget = _current()
            budget.step()
            if isinstance(function, LoopContext) and args:  # a recursive loop's ``loop(children)``
                args = (_loop(args[0]), *args[1:])
            _afford_call(budget, function, args, kwargs)
            result = super().call(context, function, *args, **kwargs)
            budget.made(result)  # a macro's text, a block's, a caller's
            return result

        def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
            budget = _current()
            budget.step()
            if operator == "*":
                _afford_product(budget, left, right)
            elif operator == "**":
                _afford_power(left, right)
            elif operator == "%" and isinstance(left, str):
                _afford_printf(budget, left)
            result = super().call_binop(context, operator, left, right)
            budget.made(result)
            return result

    return BudgetedSandbox


@functools.lru_cache(maxsize=256)
def environment(includes: Includes | None) -> SandboxedEnvironment:
    """The budgeted sandbox, with a loader over ``includes`` (file mode) or none (a registry copy is self-contained)."""
    import jinja2

    loader: jinja2.BaseLoader | None = None
    if includes is not None:
        from prompthooks.composition import candidates
        from prompthooks.records import INCLUDE

        files = dict(includes.files)

        def verified(name: str) -> str | None:
            """The verified text ``name`` resolves to, as the hook resolved it; None: Jinja's TemplateNotFound."""
            found = (files[path] for path in candidates(includes.path, INCLUDE, name, includes.settings) if path in files)
            return next(found, None)

        loader = jinja2.FunctionLoader(verified)
    # Jinja2's defaults otherwise (as the application's own Environment renders), StrictUndefined, in the sandbox.
    sandbox = _environment_class()(loader=loader, undefined=jinja2.StrictUndefined, extensions=list(JINJA_EXTENSIONS))
    sandbox.filters = {name: _budgeted(name, function) for name, function in sandbox.filters.items()}
    sandbox.filters.update({LOOP: _loop, MADE: _made, READ: _read})
    sandbox.tests = {name: _budgeted(name, cast("Callable[..., Any]", function)) for name, function in sandbox.tests.items()}
    return sandbox
