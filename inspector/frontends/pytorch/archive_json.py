"""What a ``.pt2`` program's JSON may say where torch would evaluate or import it.

Two fields of ``models/model.json`` reach dangerous code in torch's deserializer:

* symbolic shapes (``expr_str``) go to ``sympy.sympify``, i.e. ``eval``. torch 2.14
  writes them in two spellings: plain (``s0 + 1``, ``FloorDiv(s4 - 1, 2)``) and
  sympy's ``srepr`` (``Add(Symbol('s4', positive=True, integer=True), Integer(-1))``,
  ``Symbol('zuf2')`` for an unbacked float). :func:`is_plain_expression` parses the
  text with :mod:`ast` (which runs nothing) and accepts only numbers, shape symbols,
  arithmetic, comparisons and calls of a fixed list of sympy / torch sympy functions,
  with assumption keywords (``positive=True``) and string arguments only as a
  ``Symbol``'s name or a ``Float``'s digits.
* pytree specs (``in_spec`` / ``out_spec``) go to ``treespec_loads``, whose JSON
  hook imports any module a context names (``{"__enum__": ..., "fqn": "pkg:attr"}``)
  and which refuses container types registered by libraries that are not imported
  (a Hugging Face ``ModelOutput``). :func:`plain_treespec` rebuilds a spec from
  tuples, lists and dicts only: any other container becomes a tuple of the same
  children (same leaves in the same order), so nothing is imported.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

#: Shape symbols torch writes: s0, u3, zuf2 (unbacked float), ...
SYMBOL = re.compile(r"[a-z]{1,4}\d+")
#: sympy / torch sympy functions that may appear in an expression (by name).
FUNCTIONS = frozenset({
    "FloorDiv", "ModularIndexing", "Where", "PythonMod", "Mod", "CleanDiv", "CeilToInt",
    "FloorToInt", "CeilDiv", "LShift", "RShift", "PowByNatural", "FloatPow", "FloatTrueDiv",
    "IntTrueDiv", "IsNonOverlappingAndDenseIndicator", "TruncToFloat", "TruncToInt",
    "RoundToInt", "RoundDecimal", "ToFloat", "Identity", "Max", "Min", "Abs", "Eq", "Ne", "Lt",
    "Le", "Gt", "Ge", "And", "Or", "Not", "sqrt", "floor", "ceiling",
    # sympy's srepr spelling
    "Symbol", "Integer", "Rational", "Float", "Add", "Mul", "Pow", "StrictLessThan",
    "LessThan", "StrictGreaterThan", "GreaterThan", "Equality", "Unequality", "BooleanTrue",
    "BooleanFalse", "Half", "One", "Zero", "NegativeOne", "Infinity", "NegativeInfinity"})
#: Names that are values, not calls.
CONSTANTS = frozenset({"oo", "zoo", "nan"})
#: Keyword arguments sympy's srepr writes (symbol assumptions, a Float's precision).
KEYWORDS = frozenset({"positive", "negative", "nonnegative", "nonpositive", "integer", "real",
                      "finite", "infinite", "zero", "nonzero", "even", "odd", "rational",
                      "precision", "commutative"})
_NUMBER_TEXT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_OPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.USub, ast.UAdd,
        ast.Not, ast.Invert, ast.BitAnd, ast.BitOr, ast.And, ast.Or, ast.Eq, ast.NotEq, ast.Lt,
        ast.LtE, ast.Gt, ast.GtE)
_NODES = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.Call, ast.Name,
          ast.Load, ast.Constant, ast.keyword, *_OPS)
MAX_EXPRESSION_CHARS = 20_000


def is_plain_expression(expr: str) -> bool:
    """True if ``expr`` is a symbolic shape built only from harmless parts (see module doc)."""
    if len(expr) > MAX_EXPRESSION_CHARS or "__" in expr:
        return False
    try:
        tree = ast.parse(expr, mode="eval")
        nodes = list(ast.walk(tree))  # iterative: no recursion on deep expressions
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    strings = set()  # ids of the string constants that are a Symbol's name / a Float's digits
    for node in nodes:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in ("Symbol", "Float") and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str) and (
                    SYMBOL.fullmatch(first.value) if node.func.id == "Symbol"
                    else _NUMBER_TEXT.fullmatch(first.value)):
                strings.add(id(first))
    return all(_allowed(node, strings) for node in nodes)


def _allowed(node: ast.AST, strings: set[int]) -> bool:
    if not isinstance(node, _NODES):
        return False
    if isinstance(node, ast.Name):
        return bool(SYMBOL.fullmatch(node.id)) or node.id in FUNCTIONS or node.id in CONSTANTS
    if isinstance(node, ast.Constant):
        value = node.value
        return id(node) in strings if isinstance(value, str) else isinstance(value, (int, float, bool))
    if isinstance(node, ast.Call):
        return isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS
    if isinstance(node, ast.keyword):
        return node.arg in KEYWORDS and isinstance(node.value, ast.Constant) and isinstance(
            node.value.value, (bool, int))
    return True


# -- pytree specs ---------------------------------------------------------------
_SEQUENCES = frozenset({"builtins.tuple", "builtins.list"})
_MAPPINGS = frozenset({"builtins.dict", "collections.OrderedDict"})


class BadTreeSpec(ValueError):
    """A pytree spec that is not what ``treespec_dumps`` writes; ``unsafe`` when
    torch's reader would import a module named in it."""

    def __init__(self, message: str, unsafe: bool = False) -> None:
        super().__init__(message)
        self.unsafe = unsafe


def plain_treespec(text: str) -> tuple[str, list[str]]:
    """``text`` rebuilt from tuples, lists and dicts only (see the module doc).

    Returns the new spec text and the container types read as tuples.

    Raises:
        BadTreeSpec: malformed JSON, unknown protocol, or a node without the three
            fields ``treespec_dumps`` writes.
    """
    try:
        protocol, schema = json.loads(text)
    except (ValueError, TypeError, RecursionError) as e:
        raise BadTreeSpec(f"unreadable pytree spec ({type(e).__name__})") from e
    if protocol != 1:
        raise BadTreeSpec(f"pytree spec protocol {protocol!r} is not 1")
    replaced: list[str] = []
    try:
        rebuilt = _rebuild(schema, replaced)
    except RecursionError as e:
        raise BadTreeSpec("pytree spec nested too deeply") from e
    return json.dumps([1, rebuilt]), replaced


def _rebuild(node: Any, replaced: list[str]) -> dict[str, Any]:
    if not isinstance(node, dict) or set(node) != {"type", "context", "children_spec"} \
            or not isinstance(node["children_spec"], list):
        raise BadTreeSpec("pytree spec node is malformed")
    kind, context = node["type"], node["context"]
    children = [_rebuild(c, replaced) for c in node["children_spec"]]
    if kind is None:
        if context is not None or children:
            raise BadTreeSpec("pytree leaf with a context or children")
        return {"type": None, "context": None, "children_spec": []}
    if kind in _SEQUENCES:
        return {"type": kind, "context": "null", "children_spec": children}
    if isinstance(context, str) and "__enum__" in context:
        raise BadTreeSpec("a pytree spec names a module to import (an enum key)", unsafe=True)
    if kind in _MAPPINGS:
        try:
            keys = json.loads(context) if isinstance(context, str) else None
        except ValueError as e:
            raise BadTreeSpec("pytree dict keys are unreadable") from e
        if isinstance(keys, list) and len(keys) == len(children) and all(
                isinstance(k, (str, int)) and not isinstance(k, bool) for k in keys):
            return {"type": kind, "context": json.dumps(keys), "children_spec": children}
    replaced.append(str(kind)[:80])
    return {"type": "builtins.tuple", "context": "null", "children_spec": children}


def plain_module_call_specs(model_json: dict) -> list[str]:
    """Rewrite every ``in_spec`` / ``out_spec`` of ``model_json`` in place with
    :func:`plain_treespec`; returns the container types read as tuples.

    Raises:
        BadTreeSpec: a spec that is not what ``treespec_dumps`` writes.
    """
    replaced: list[str] = []
    graph_module = model_json.get("graph_module") if isinstance(model_json, dict) else None
    entries = graph_module.get("module_call_graph") if isinstance(graph_module, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        signature = entry.get("signature") if isinstance(entry, dict) else None
        if not isinstance(signature, dict):
            continue
        for key in ("in_spec", "out_spec"):
            if isinstance(signature.get(key), str):
                signature[key], types = plain_treespec(signature[key])
                replaced += types
    return list(dict.fromkeys(replaced))
