"""Sandboxed Jinja2 for workflow values and conditions.

Only two things are ever evaluated: `{{ … }}` expressions inside string values, and the
`if` / `for_each` expressions of a step. Everything else in a document is data.

- A value that is exactly one `{{ expr }}` keeps the expression's native type (a list, a
  number, a mapping); any other template renders to text.
- Expressions read data only: the names `trigger`, `steps`, `workflow`, `now` (the time
  the run's trigger happened; see `workflows.template_dates`) (and `item`, `loop` inside a
  `for_each` step), attribute/item access on that data (mapping keys win
  over methods, so `steps.search.items` is the `items` key), a fixed set of filters and a
  handful of side-effect-free str/dict/list methods. `{% … %}` blocks, other names,
  other calls and anything starting with `_` (`__class__`, `mro`, …) are refused, both by
  `check_template` (the validator) and again at render time.
- Operators and filters that could build huge values (`*`, `**`, `~`, `join`, `replace`,
  …) are size-checked, so a hostile document cannot exhaust memory either.
"""

from __future__ import annotations

import contextlib
import functools
import json
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import BuiltinMethodType
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, Undefined, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.parser import Parser
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from workflows.template_dates import (
    DATE_FILTERS,
    UNKNOWN_ARGUMENT,
    DateHelperError,
    argument_problems,
    as_time,
    iso,
)

MAX_TEMPLATE_CHARS = 20_000
MAX_VALUE_SIZE = 1_000_000
"""Approximate JSON size (characters) any value built by a template may reach."""
MAX_POWER_BITS = 4096

ROOT_NAMES = frozenset({"trigger", "steps", "workflow", "now"})
LOOP_NAMES = frozenset({"item", "loop"})

SAFE_METHODS: dict[type, frozenset[str]] = {
    str: frozenset(
        {
            "lower",
            "upper",
            "title",
            "capitalize",
            "casefold",
            "strip",
            "lstrip",
            "rstrip",
            "startswith",
            "endswith",
            "split",
            "rsplit",
            "splitlines",
            "partition",
            "rpartition",
            "removeprefix",
            "removesuffix",
            "count",
            "find",
            "rfind",
            "isdigit",
            "isalpha",
            "isalnum",
            "isspace",
            "islower",
            "isupper",
        }
    ),
    dict: frozenset({"get", "keys", "values", "items"}),
    list: frozenset({"count", "index"}),
}
METHOD_NAMES = frozenset().union(*SAFE_METHODS.values())

_ALLOWED_NODES = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.Const,
    nodes.Name,
    nodes.Getattr,
    nodes.Getitem,
    nodes.Slice,
    nodes.Filter,
    nodes.Test,
    nodes.CondExpr,
    nodes.And,
    nodes.Or,
    nodes.Not,
    nodes.Neg,
    nodes.Pos,
    nodes.Compare,
    nodes.Operand,
    nodes.Concat,
    nodes.Add,
    nodes.Sub,
    nodes.Mul,
    nodes.Div,
    nodes.FloorDiv,
    nodes.Mod,
    nodes.Pow,
    nodes.List,
    nodes.Tuple,
    nodes.Dict,
    nodes.Pair,
    nodes.Keyword,
    nodes.Call,
)


class TemplateError(ValueError):
    """A template that does not parse, is not allowed, or failed to render.
    `path` is where the value sits in the document (`steps[1].with.text`)."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.message = message
        self.path = path


class _TooLarge(SecurityError):
    """A template built a value over the size limit."""


# --- size guards ------------------------------------------------------------------------


def json_size(value: Any, limit: int = MAX_VALUE_SIZE) -> int:
    """Approximate serialized size of `value`, counting stops once it passes `limit`
    (so a list holding the same huge string a thousand times is cheap to measure)."""
    total = 0
    stack = [value]
    while stack and total <= limit:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item) + 2
        elif isinstance(item, Mapping):
            total += 2 + len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            total += 2 + len(item)
            stack.extend(item)
        else:
            total += 8
    return total


def _check_size(value: Any) -> Any:
    if json_size(value) > MAX_VALUE_SIZE:
        raise _TooLarge(f"the value would be larger than {MAX_VALUE_SIZE} characters")
    return value


def _check_power(base: Any, exponent: Any) -> None:
    if (
        isinstance(base, int)
        and isinstance(exponent, int)
        and max(abs(base), 2).bit_length() * max(exponent, 0) > MAX_POWER_BITS
    ):
        raise _TooLarge(f"{base} ** {exponent} is too large")


def _check_repeat(left: Any, right: Any) -> None:
    sequence, times = (left, right) if isinstance(right, int) else (right, left)
    if not isinstance(sequence, str | list | tuple) or not isinstance(times, int):
        return
    size = len(sequence) if isinstance(sequence, str) else json_size(sequence)
    if size * max(times, 0) > MAX_VALUE_SIZE:
        raise _TooLarge(f"repeating a value {times} times would be too large")


def _guarded_binop(op: str, left: Any, right: Any) -> Any:
    if op == "**":
        _check_power(left, right)
    elif op == "*":
        _check_repeat(left, right)
    elif op == "%" and isinstance(left, str):
        raise SecurityError("use `~` or filters to build text; `%` formatting is not allowed")
    elif (
        op == "+"
        and isinstance(left, str | list | tuple)
        and json_size(left) + json_size(right) > MAX_VALUE_SIZE
    ):
        raise _TooLarge(f"the value would be larger than {MAX_VALUE_SIZE} characters")
    return _BINOPS[op](left, right)


_BINOPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "*": operator.mul,
    "**": operator.pow,
    "%": operator.mod,
}


# --- filters ----------------------------------------------------------------------------


def _join(value: Iterable[Any], separator: str = "", attribute: str | None = None) -> str:
    items = [_attribute(item, attribute) for item in value]
    _check_size([*(str(i) for i in items), separator * min(len(items), MAX_VALUE_SIZE)])
    return str(separator).join(str(item) for item in items)


def _replace(text: Any, old: str, new: str, count: int | None = None) -> str:
    text, old, new = str(text), str(old), str(new)
    occurrences = text.count(old) if old else len(text) + 1
    if count is not None:
        occurrences = min(occurrences, max(count, 0))
    if len(text) + occurrences * max(len(new) - len(old), 0) > MAX_VALUE_SIZE:
        raise _TooLarge("the replacement would make the text too large")
    return text.replace(old, new, -1 if count is None else count)


def _tojson(value: Any, indent: int | None = None) -> str:
    _check_size(value)
    return json.dumps(value, ensure_ascii=False, indent=indent, default=_as_text)


def _as_text(value: Any) -> str:
    """Text of a value: a time as ISO 8601 (`now`, date filters), anything else str()."""
    return iso(value) if isinstance(value, datetime) else str(value)


def _finalize(value: Any) -> Any:
    """What `{{ … }}` inside text prints: times as ISO 8601, sizes checked."""
    return iso(value) if isinstance(value, datetime) else _check_size(value)


def _to_string(value: Any) -> str:
    return str(_check_size(value))


def _to_list(value: Any) -> list[Any]:
    if isinstance(value, str):
        return list(_check_size(value))
    return _check_size(list(value))


def _sum(value: Iterable[Any], attribute: str | None = None) -> float | int:
    numbers = [_attribute(item, attribute) for item in value]
    if not all(isinstance(n, int | float) and not isinstance(n, bool) for n in numbers):
        raise TypeError("sum only adds numbers")
    return sum(numbers)


def _attribute(item: Any, attribute: str | None) -> Any:
    if attribute is None:
        return item
    for part in str(attribute).split("."):
        item = _read(item, part)
    return item


_OWN_FILTERS: dict[str, Callable[..., Any]] = {
    "join": _join,
    "replace": _replace,
    "tojson": _tojson,
    "string": _to_string,
    "list": _to_list,
    "sum": _sum,
    **DATE_FILTERS,
}

_JINJA_FILTERS = (
    "abs",
    "capitalize",
    "count",
    "d",
    "default",
    "dictsort",
    "first",
    "float",
    "groupby",
    "int",
    "items",
    "last",
    "length",
    "lower",
    "map",
    "max",
    "min",
    "reject",
    "rejectattr",
    "reverse",
    "round",
    "select",
    "selectattr",
    "sort",
    "striptags",
    "title",
    "trim",
    "truncate",
    "unique",
    "upper",
    "urlencode",
    "wordcount",
)


def _size_checked(filter_fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(filter_fn)
    def checked(*args: Any, **kwargs: Any) -> Any:
        result = filter_fn(*args, **kwargs)
        return _check_size(result) if isinstance(result, str | list | tuple) else result

    return checked


# --- the environment --------------------------------------------------------------------


def _read(obj: Any, key: Any) -> Any:
    """Data access for templates: mapping keys, sequence indexes, safe methods."""
    if isinstance(obj, Mapping):
        if key in obj:
            return obj[key]
    elif isinstance(obj, list | tuple | str) and isinstance(key, int | slice):
        with contextlib.suppress(IndexError, ValueError, TypeError):
            return obj[key]
    if isinstance(key, str) and key in SAFE_METHODS.get(type(obj), ()):
        return getattr(obj, key)
    if isinstance(key, str) and key.startswith("_"):
        raise SecurityError(f"`{key}` is not data: templates cannot reach Python internals")
    raise KeyError(key)


class _GuardedCodeGenerator(CodeGenerator):
    """Routes `a ~ b` through a size check (Jinja joins it with a plain str.join)."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.guarded_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class _Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset(_BINOPS)
    code_generator_class = _GuardedCodeGenerator

    def getattr(self, obj: Any, attribute: str) -> Any:
        return self.getitem(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        try:
            return _read(obj, argument)
        except KeyError:
            return self.undefined(obj=obj, name=argument)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        owner = getattr(__obj, "__self__", None)
        if not (
            isinstance(__obj, BuiltinMethodType)
            and __obj.__name__ in SAFE_METHODS.get(type(owner), ())
        ):
            raise SecurityError("templates may only call a few text and mapping methods")
        return _check_size(__obj(*args, **kwargs))

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        return _guarded_binop(operator, left, right)

    @staticmethod
    def guarded_concat(parts: Iterable[Any]) -> str:
        texts = [_as_text(_check_size(part)) for part in parts]
        if sum(len(t) for t in texts) > MAX_VALUE_SIZE:
            raise _TooLarge(f"the text would be longer than {MAX_VALUE_SIZE} characters")
        return "".join(texts)


def _build_environment() -> _Sandbox:
    env = _Sandbox(
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        finalize=_finalize,
    )
    jinja_filters = {name: _size_checked(env.filters[name]) for name in _JINJA_FILTERS}
    env.filters = {**jinja_filters, **_OWN_FILTERS}
    env.tests.pop("callable", None)
    env.globals.clear()
    return env


_ENV = _build_environment()


# --- static analysis ----------------------------------------------------------------------


@dataclass(frozen=True)
class Reference:
    """A read of `steps.<name>[.<field>]` or `trigger.<name>` found in a template."""

    root: str
    name: str
    field: str | None = None


@dataclass
class Analysis:
    errors: list[str] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def is_template(value: str) -> bool:
    return "{{" in value or "{%" in value or "{#" in value


def _key(node: nodes.Node) -> str | None:
    if isinstance(node, nodes.Getattr):
        return node.attr
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        return node.arg.value if isinstance(node.arg.value, str) else None
    return None


def _check_node(node: nodes.Node, names: frozenset[str], analysis: Analysis) -> None:
    if isinstance(node, nodes.Stmt) and not isinstance(node, nodes.Output):
        analysis.errors.append(
            "only `{{ … }}` expressions are allowed in workflow values, not `{% … %}` blocks"
        )
    elif not isinstance(node, _ALLOWED_NODES):
        analysis.errors.append(f"`{type(node).__name__}` expressions are not allowed")
    elif isinstance(node, nodes.Name) and node.name not in names:
        allowed = ", ".join(sorted(names))
        analysis.errors.append(f"unknown name `{node.name}`: templates can use {allowed}")
    elif isinstance(node, nodes.Getattr | nodes.Getitem):
        _check_access(node, analysis)
    elif isinstance(node, nodes.Call):
        _check_call(node, analysis)
    elif isinstance(node, nodes.Filter | nodes.Test):
        _check_filter(node, analysis)
    elif isinstance(node, nodes.Mod) and isinstance(node.left, nodes.Const | nodes.TemplateData):
        analysis.errors.append("use `~` or filters to build text; `%` formatting is not allowed")
    if isinstance(node, nodes.Filter | nodes.Test) and (node.dyn_args or node.dyn_kwargs):
        analysis.errors.append("`*args` / `**kwargs` are not allowed in templates")


def _named_in_arguments(node: nodes.Filter) -> list[tuple[str, str]]:
    """(kind, name) of the filters/tests a filter names by string: `map('upper')`,
    `select('odd')`, `selectattr('labels', 'defined')`."""
    args = [a.value if isinstance(a, nodes.Const) else None for a in node.args]
    if node.name == "map" and not node.kwargs and args and isinstance(args[0], str):
        return [("filter", args[0])]
    if node.name in ("select", "reject") and args and isinstance(args[0], str):
        return [("test", args[0])]
    if node.name in ("selectattr", "rejectattr") and len(args) > 1 and isinstance(args[1], str):
        return [("test", args[1])]
    return []


def _check_filter(node: nodes.Filter | nodes.Test, analysis: Analysis) -> None:
    """Known filter/test names (also those named in `map('upper')` & co.), and no
    `_…` attribute names in arguments such as `map(attribute='…')`."""
    kind = "filter" if isinstance(node, nodes.Filter) else "test"
    named = [(kind, node.name)]
    if isinstance(node, nodes.Filter):
        named += _named_in_arguments(node)
    for kind_named, name in named:
        known = _ENV.filters if kind_named == "filter" else _ENV.tests
        if name not in known:
            available = ", ".join(sorted(known))
            analysis.errors.append(f"unknown {kind_named} `{name}`; available: {available}")
    constants = [a.value for a in node.args if isinstance(a, nodes.Const)]
    constants += [k.value.value for k in node.kwargs if isinstance(k.value, nodes.Const)]
    for value in constants:
        if isinstance(value, str) and any(p.startswith("_") for p in value.split(".")):
            analysis.errors.append(
                f"`{value}` reaches into Python internals; templates may only read workflow data"
            )
    if isinstance(node, nodes.Filter) and node.name in DATE_FILTERS:
        analysis.errors += _date_filter_problems(node)


def _date_filter_problems(node: nodes.Filter) -> list[str]:
    """Arguments of a date filter that can be judged before a run: a time zone, a day
    name, a clock time, an amount; and a literal input that is not a time."""
    if node.kwargs:
        return [f"{node.name} takes its argument by position, e.g. `now | add_days(1)`"]
    arguments = [a.value if isinstance(a, nodes.Const) else UNKNOWN_ARGUMENT for a in node.args]
    problems = argument_problems(node.name, arguments)
    if isinstance(node.node, nodes.Const):
        try:
            as_time(node.node.value, node.name)
        except DateHelperError as exc:
            problems.append(str(exc))
    return problems


def _check_access(node: nodes.Getattr | nodes.Getitem, analysis: Analysis) -> None:
    key = _key(node)
    if key is not None and (key.startswith("_") or key == "mro"):
        analysis.errors.append(
            f"`{key}` reaches into Python internals; templates may only read workflow data"
        )
        return
    inner = node.node
    if isinstance(inner, nodes.Name) and inner.name == "now":
        analysis.errors.append(
            "`now` is a time, not a record: move it with date filters such as "
            "`now | add_days(1) | at('09:00')`, or print its day with `now | date`"
        )
    elif isinstance(inner, nodes.Name) and inner.name in ("steps", "trigger") and key:
        analysis.references.append(Reference(inner.name, key))
    elif isinstance(inner, nodes.Getattr | nodes.Getitem) and isinstance(inner.node, nodes.Name):
        inner_key = _key(inner)
        if inner.node.name == "steps" and inner_key and key:
            analysis.references.append(Reference("steps", inner_key, key))


def _check_call(node: nodes.Call, analysis: Analysis) -> None:
    method = node.node.attr if isinstance(node.node, nodes.Getattr) else None
    if isinstance(node.node, nodes.Name) and node.node.name == "now":
        analysis.errors.append(
            "`now` is a value, not a function: write `{{ now }}` or `{{ now | add_days(1) }}`"
        )
    elif method not in METHOD_NAMES:
        analysis.errors.append(
            "templates cannot call functions; use filters such as `| join(', ')` "
            "(only text and mapping methods like `.lower()`, `.split()`, `.get()` may be called)"
        )
    if node.dyn_args or node.dyn_kwargs:
        analysis.errors.append("`*args` / `**kwargs` are not allowed in templates")


def _analyse(root: nodes.Node, names: frozenset[str]) -> Analysis:
    analysis = Analysis()
    stack = [root]
    while stack:
        node = stack.pop()
        _check_node(node, names, analysis)
        stack.extend(node.iter_child_nodes())
    analysis.errors = list(dict.fromkeys(analysis.errors))
    return analysis


def _syntax_message(exc: TemplateSyntaxError) -> str:
    return f"template syntax error: {exc.message} (line {exc.lineno})"


def _parse_template(source: str) -> nodes.Template:
    if len(source) > MAX_TEMPLATE_CHARS:
        raise TemplateError(f"a template may be at most {MAX_TEMPLATE_CHARS} characters")
    try:
        return _ENV.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateError(_syntax_message(exc)) from None
    except RecursionError:
        raise TemplateError("the template is nested too deeply") from None


def _single_expression(template: nodes.Template) -> nodes.Expr | None:
    """The expression of a template that is exactly `{{ expr }}`, else None."""
    if len(template.body) == 1 and isinstance(template.body[0], nodes.Output):
        parts = template.body[0].nodes
        if len(parts) == 1 and not isinstance(parts[0], nodes.TemplateData):
            return parts[0]
    return None


def _parse_expression(source: str) -> nodes.Expr:
    """An `if` / `for_each` expression; a single `{{ … }}` wrapper is accepted too."""
    text = source.strip()
    if text.startswith("{{") and text.endswith("}}"):
        expression = _single_expression(_parse_template(text))
        if expression is None:
            raise TemplateError("write one expression, e.g. `steps.check.ok and trigger.urgent`")
        return expression
    if len(text) > MAX_TEMPLATE_CHARS:
        raise TemplateError(f"an expression may be at most {MAX_TEMPLATE_CHARS} characters")
    if not text:
        raise TemplateError("the expression is empty")
    try:
        parser = Parser(_ENV, text, state="variable")
        expression = parser.parse_expression()
        if not parser.stream.eos:
            raise TemplateSyntaxError(
                f"unexpected `{parser.stream.current.value}` after the expression",
                parser.stream.current.lineno,
            )
    except TemplateSyntaxError as exc:
        raise TemplateError(_syntax_message(exc)) from None
    except RecursionError:
        raise TemplateError("the expression is nested too deeply") from None
    return expression


def check_template(source: str, names: frozenset[str] = ROOT_NAMES) -> Analysis:
    """Problems of a string value (empty when it is fine) and what it references."""
    try:
        return _analyse(_parse_template(source), names)
    except TemplateError as exc:
        return Analysis(errors=[exc.message])


def check_expression(source: str, names: frozenset[str] = ROOT_NAMES) -> Analysis:
    try:
        return _analyse(_parse_expression(source), names)
    except TemplateError as exc:
        return Analysis(errors=[exc.message])


# --- compilation and rendering ----------------------------------------------------------

_ALL_NAMES = ROOT_NAMES | LOOP_NAMES


def _refuse_unsafe(root: nodes.Node) -> None:
    analysis = _analyse(root, _ALL_NAMES)
    if analysis.errors:
        raise TemplateError(analysis.errors[0])


def _expression_template(expression: nodes.Expr) -> Any:
    body = nodes.Template([nodes.Assign(nodes.Name("result", "store"), expression)], lineno=1)
    body.set_environment(_ENV)
    return _ENV.from_string(body)


@functools.lru_cache(maxsize=4096)
def _compile_value(source: str) -> tuple[bool, Any]:
    """(is_native, compiled template) for a string value."""
    template = _parse_template(source)
    _refuse_unsafe(template)
    expression = _single_expression(template)
    if expression is not None:
        return True, _expression_template(expression)
    return False, _ENV.from_string(template)


@functools.lru_cache(maxsize=1024)
def _compile_expression(source: str) -> Any:
    expression = _parse_expression(source)
    _refuse_unsafe(expression)
    return _expression_template(expression)


def _run_expression(template: Any, context: Mapping[str, Any]) -> Any:
    jinja_context = template.new_context(dict(context))
    for _ in template.root_render_func(jinja_context):
        pass
    return _to_native(jinja_context.vars["result"])


def _to_native(value: Any) -> Any:
    if isinstance(value, Undefined):
        str(value)  # StrictUndefined raises its "is undefined" error here
    if isinstance(value, Markup):
        return str(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, Mapping):
        return {str(k): _to_native(v) for k, v in _check_size(dict(value)).items()}
    if isinstance(value, Iterable):
        return [_to_native(v) for v in _check_size(list(_bounded(value)))]
    raise TypeError(f"the expression gave a {type(value).__name__}, which is not data")


def _bounded(values: Iterable[Any]) -> Iterator[Any]:
    for count, value in enumerate(values):
        if count >= MAX_VALUE_SIZE:
            raise _TooLarge("the list is too long")
        yield value


def _render_text(template: Any, context: Mapping[str, Any]) -> str:
    parts: list[str] = []
    length = 0
    for part in template.generate(dict(context)):
        length += len(part)
        if length > MAX_VALUE_SIZE:
            raise _TooLarge(f"the text would be longer than {MAX_VALUE_SIZE} characters")
        parts.append(part)
    return "".join(parts)


def _failure(exc: Exception) -> str:
    if isinstance(exc, TemplateError):
        return exc.message
    if isinstance(exc, SecurityError):
        return f"not allowed: {exc}"
    return str(exc) or type(exc).__name__


def render_string(source: str, context: Mapping[str, Any], path: str = "") -> Any:
    if not is_template(source):
        return source
    try:
        native, template = _compile_value(source)
        if native:
            return _run_expression(template, context)
        return _render_text(template, context)
    except Exception as exc:  # anything the template does wrong is the template's error
        raise TemplateError(f"{_failure(exc)} (in {source[:200]!r})", path) from None


def render(value: Any, context: Mapping[str, Any], path: str = "") -> Any:
    """Render every template inside `value` (strings, lists and mappings, recursively)."""
    if isinstance(value, str):
        return render_string(value, context, path)
    if isinstance(value, Mapping):
        return {k: render(v, context, f"{path}.{k}" if path else k) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, context, f"{path}[{i}]") for i, v in enumerate(value)]
    return value


def evaluate(expression: str, context: Mapping[str, Any], path: str = "") -> Any:
    """The value of an `if` / `for_each` expression."""
    try:
        return _run_expression(_compile_expression(expression), context)
    except Exception as exc:  # anything the expression does wrong is the expression's error
        raise TemplateError(f"{_failure(exc)} (in {expression[:200]!r})", path) from None


def template_strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """(path, string) for every templated string inside a value."""
    if isinstance(value, str):
        if is_template(value):
            yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from template_strings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from template_strings(item, f"{path}[{index}]")


def loop_context(index: int, length: int) -> dict[str, Any]:
    """The `loop` variable of a `for_each` step (Jinja's names)."""
    return {
        "index": index + 1,
        "index0": index,
        "first": index == 0,
        "last": index == length - 1,
        "length": length,
    }
