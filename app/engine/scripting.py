"""Untrusted diagram expressions and scripts, run with RestrictedPython plus size and time limits.

SpiffWorkflow's default environment calls plain eval/exec on diagram text; a diagram is uploaded by an
admin but its conditions and scripts must still not reach the host (ARCHITECTURE decision 8).
"""

import ast
import math
import re
import sys
import time
from collections.abc import Callable
from typing import Any

from RestrictedPython import RestrictingNodeTransformer, compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import full_write_guard, guarded_iter_unpack_sequence, safer_getattr
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

MAX_SEQUENCE = 100_000
MAX_INT_BITS = 4_096

# Unquoted ISO 8601 values in timer definitions (`PT4H`, `2026-01-01T00:00:00`) are common in
# diagrams from Camunda Modeler; Python would read them as names or syntax errors.
_ISO_LITERAL = re.compile(
    r"R\d*/.+|P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?"
    r"|\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?"
)


class ExpressionRejected(Exception):
    """The text is not allowed (syntax, forbidden construct) or broke a limit while running."""


def _check_size(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > MAX_INT_BITS:
        raise ExpressionRejected("số quá lớn")
    if isinstance(value, str | bytes | list | tuple) and len(value) > MAX_SEQUENCE:
        raise ExpressionRejected("chuỗi hoặc danh sách quá dài")
    return value


def _mul(a: Any, b: Any) -> Any:
    for seq, n in ((a, b), (b, a)):
        if isinstance(seq, str | bytes | list | tuple) and isinstance(n, int) and len(seq) * n > MAX_SEQUENCE:
            raise ExpressionRejected("chuỗi hoặc danh sách quá dài")
    if isinstance(a, int) and isinstance(b, int) and a.bit_length() + b.bit_length() > MAX_INT_BITS:
        raise ExpressionRejected("số quá lớn")
    return a * b


def _pow(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1 and b * math.log2(abs(a)) > MAX_INT_BITS:
        raise ExpressionRejected("số quá lớn")
    return a**b


def _lshift(a: Any, b: Any) -> Any:
    if isinstance(b, int) and b > MAX_INT_BITS:
        raise ExpressionRejected("số quá lớn")
    return a << b


def _range(*args: int) -> range:
    r = range(*args)
    if len(r) > MAX_SEQUENCE:
        raise ExpressionRejected("range quá dài")
    return r


_BINOP_GUARDS = {ast.Mult: "_mul_", ast.Pow: "_pow_", ast.LShift: "_lshift_"}


class _Policy(RestrictingNodeTransformer):
    """RestrictedPython's policy plus guarded `*`, `**` and `<<`, which can exhaust memory or CPU in C."""

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        node = self.node_contents_visit(node)
        guard = _BINOP_GUARDS.get(type(node.op))
        if guard is None:
            return node
        call = ast.Call(func=ast.Name(id=guard, ctx=ast.Load()), args=[node.left, node.right], keywords=[])
        return ast.fix_missing_locations(ast.copy_location(call, node))

    def visit_Import(self, node: ast.Import) -> ast.AST:
        self.error(node, "import is not allowed in diagram scripts.")
        return node

    visit_ImportFrom = visit_Import

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        if type(node.op) in _BINOP_GUARDS:
            self.error(node, "Augmented assignment with *, ** or << is not allowed.")
        return super().visit_AugAssign(node)


SAFE_BUILTINS: dict[str, Any] = {
    "True": True, "False": False, "None": None,
    "abs": abs, "all": all, "any": any, "bool": bool, "dict": dict, "divmod": divmod,
    "enumerate": enumerate, "float": float, "int": int, "isinstance": isinstance, "len": len,
    "list": list, "max": max, "min": min, "range": _range, "round": round, "set": set,
    "sorted": sorted, "str": str, "sum": sum, "tuple": tuple, "zip": zip,
    "ValueError": ValueError, "KeyError": KeyError, "TypeError": TypeError,
}

_GUARDS: dict[str, Any] = {
    "_getattr_": safer_getattr,
    "_getitem_": default_guarded_getitem,
    "_getiter_": default_guarded_getiter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_write_": full_write_guard,
    "_mul_": _mul,
    "_pow_": _pow,
    "_lshift_": _lshift,
}


def check_expression(text: str) -> None:
    """Raise ExpressionRejected when `text` would be refused at run time (used at deploy)."""
    if _ISO_LITERAL.fullmatch(text.strip()):
        return
    result = compile_restricted_eval(text.strip(), policy=_Policy)
    if result.errors:
        raise ExpressionRejected("; ".join(result.errors))


def check_script(text: str) -> None:
    result = compile_restricted_exec(text, policy=_Policy)
    if result.errors:
        raise ExpressionRejected("; ".join(result.errors))


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """Evaluates conditions and runs scripts over task data; nothing else is in scope."""

    def __init__(self, timeout_seconds: float = 1.0) -> None:
        super().__init__({})
        self.timeout_seconds = timeout_seconds
        self._compiled: dict[tuple[str, str], Any] = {}

    def _compile(self, mode: str, text: str) -> Any:
        cache_key = (mode, text)
        code = self._compiled.get(cache_key)
        if code is None:
            compiler = compile_restricted_eval if mode == "eval" else compile_restricted_exec
            result = compiler(text, policy=_Policy)
            if result.errors:
                raise ExpressionRejected("; ".join(result.errors))
            code = result.code
            if len(self._compiled) < 10_000:
                self._compiled[cache_key] = code
        return code

    def _globals(self, context: dict[str, Any], external_context: dict[str, Any] | None) -> dict[str, Any]:
        scope: dict[str, Any] = {"__builtins__": SAFE_BUILTINS, **_GUARDS}
        scope.update(external_context or {})
        scope.update(context)
        return scope

    def evaluate(self, expression: str, context: dict[str, Any], external_context: dict | None = None) -> Any:
        text = expression.strip()
        if _ISO_LITERAL.fullmatch(text):
            return text
        code = self._compile("eval", text)
        return _check_size(self._run(lambda: eval(code, self._globals(context, external_context))))

    def execute(self, script: str, context: dict[str, Any], external_context: dict | None = None) -> bool:
        code = self._compile("exec", script)
        scope = self._globals(context, external_context)
        before = set(scope)
        self._run(lambda: exec(code, scope))
        for name, value in scope.items():
            if name.startswith("_") or callable(value) or (name in before and name not in context):
                continue
            context[name] = _check_size(value)
        for name in [n for n in context if n not in scope]:
            del context[name]  # `del x` in a script removes the variable
        return True

    def call_service(self, context: dict[str, Any], **kwargs: Any) -> Any:
        raise ExpressionRejected("service tasks are not supported")

    def _run(self, thunk: Callable[[], Any]) -> Any:
        deadline = time.monotonic() + self.timeout_seconds

        def tracer(frame, event, arg):
            if time.monotonic() > deadline:
                raise ExpressionRejected("biểu thức chạy quá thời gian cho phép")
            return tracer

        previous = sys.gettrace()
        sys.settrace(tracer)
        try:
            return thunk()
        finally:
            sys.settrace(previous)
