"""Translate Camunda 7 JUEL (`${...}`) and Camunda 8 FEEL (`=...`) expressions into Python source.

A small tokenizer and recursive-descent parser per dialect build a fully parenthesised Python
expression, which then runs in the restricted evaluator like any hand-written condition. Anything the
grammar does not cover raises DialectError with a Vietnamese explanation, so diagrams are refused at
deploy instead of misbehaving later. Plain text without a dialect marker is taken to be Python.
"""

import keyword
import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["DialectError", "dialect_of", "to_python"]


class DialectError(Exception):
    """The expression uses a construct this translator does not understand (message in Vietnamese)."""


@dataclass(frozen=True)
class _Token:
    kind: str  # name, number, string, op, end
    text: str
    value: object = None


_JUEL_WRAPPED = re.compile(r"\A\s*[$#]\{(?P<body>.*)\}\s*\Z", re.S)
_NUMBER = re.compile(r"\d+(\.\d+)?([eE][+-]?\d+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_JUEL_OPS = ("&&", "||", "==", "!=", "<=", ">=", "!", "<", ">", "+", "-", "*", "/", "%", "(", ")", ".",
             "[", "]", "?", ":", ",")
_FEEL_OPS = ("**", "!=", "<=", ">=", "=", "<", ">", "+", "-", "*", "/", "(", ")", ".", "[", "]", ",")


def dialect_of(text: str) -> str:
    """'juel', 'feel' or 'python', from the markers each modeler writes."""
    stripped = text.strip()
    if stripped.startswith("=") and not stripped.startswith("=="):
        return "feel"
    if re.search(r"[$#]\{", stripped):
        return "juel"
    return "python"


def to_python(text: str) -> str:
    """Python source equivalent to `text`; Python input is returned unchanged."""
    dialect = dialect_of(text)
    if dialect == "juel":
        match = _JUEL_WRAPPED.match(text)
        if match is None or re.search(r"[$#]\{", match.group("body")):
            raise DialectError("biểu thức JUEL phải là một khối ${...} duy nhất (không ghép văn bản với nhiều "
                               "khối ${...}); hãy viết thành một điều kiện, ví dụ ${a && b}")
        return _JuelParser(_tokenize(match.group("body"), _JUEL_OPS, quotes="'\"")).parse()
    if dialect == "feel":
        return _FeelParser(_tokenize(text.strip()[1:], _FEEL_OPS, quotes='"')).parse()
    return text


def _tokenize(text: str, operators: tuple[str, ...], quotes: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
            continue
        if char in quotes:
            value, i = _read_string(text, i)
            tokens.append(_Token("string", value, value))
            continue
        if char in "'\"":
            raise DialectError(f"chuỗi phải đặt trong dấu nháy kép (\"...\"), không dùng {char}...{char}")
        number = _NUMBER.match(text, i)
        if number:
            literal = number.group()
            tokens.append(_Token("number", literal, float(literal) if "." in literal or "e" in literal.lower()
                                 else int(literal)))
            i = number.end()
            continue
        name = _NAME.match(text, i)
        if name:
            tokens.append(_Token("name", name.group()))
            i = name.end()
            continue
        for op in operators:
            if text.startswith(op, i):
                tokens.append(_Token("op", op))
                i += len(op)
                break
        else:
            raise DialectError(f"ký tự '{char}' (vị trí {i + 1}) không được hỗ trợ trong biểu thức")
    tokens.append(_Token("end", ""))
    return tokens


def _read_string(text: str, start: int) -> tuple[str, int]:
    quote, i, out = text[start], start + 1, []
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            out.append({"n": "\n", "t": "\t"}.get(text[i + 1], text[i + 1]))
            i += 2
            continue
        if char == quote:
            return "".join(out), i + 1
        out.append(char)
        i += 1
    raise DialectError("chuỗi chưa đóng dấu nháy")


def _variable(name: str) -> str:
    if name.startswith("_") or keyword.iskeyword(name) or keyword.issoftkeyword(name):
        raise DialectError(f"tên biến '{name}' không dùng được (không bắt đầu bằng '_' và không trùng từ khoá "
                           "Python); hãy đổi tên biến")
    return name


def _empty(operand: str) -> str:
    return f"({operand} is None or (isinstance({operand}, (str, list, dict, tuple, set)) and len({operand}) == 0))"


class _Parser:
    dialect_name = ""

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.depth = 0

    @property
    def current(self) -> _Token:
        return self.tokens[self.pos]

    def at(self, *texts: str) -> bool:
        return self.current.kind in ("op", "name") and self.current.text in texts

    def take(self) -> _Token:
        token = self.current
        self.pos += 1
        return token

    def expect(self, text: str) -> None:
        if not self.at(text):
            raise DialectError(f"cần '{text}' nhưng gặp '{self.current.text or 'hết biểu thức'}'")
        self.take()

    def parse(self) -> str:
        if self.current.kind == "end":
            raise DialectError(f"biểu thức {self.dialect_name} rỗng")
        result = self.expression()
        if self.current.kind != "end":
            raise DialectError(f"không hiểu phần '{self.current.text}' trong biểu thức {self.dialect_name}")
        return result

    def expression(self) -> str:
        self.depth += 1
        if self.depth > 50:
            raise DialectError("biểu thức lồng quá sâu")
        try:
            return self.top()
        finally:
            self.depth -= 1

    def top(self) -> str:
        raise NotImplementedError

    def binary(self, operand: Callable[[], str], operators: dict[str, str]) -> str:
        left = operand()
        while self.at(*operators):
            op = operators[self.take().text]
            left = f"({left} {op} {operand()})"
        return left

    def comparison(self, operand: Callable[[], str], operators: dict[str, str]) -> str:
        left = operand()
        if self.at(*operators):
            op = operators[self.take().text]
            left = f"({left} {op} {operand()})"
            if self.at(*operators):
                raise DialectError("không nối nhiều phép so sánh liền nhau; hãy dùng 'and' giữa các so sánh")
        return left

    def postfix(self, base: str) -> str:
        while self.at(".", "["):
            if self.take().text == ".":
                name = self.take()
                if name.kind != "name":
                    raise DialectError("sau dấu '.' phải là tên thuộc tính")
                if self.at("("):
                    raise DialectError(f"không gọi được phương thức '{name.text}(...)'; chỉ dùng biến và phép so "
                                       "sánh trên dữ liệu của hồ sơ")
                base = f"{base}[{name.text!r}]"
            else:
                base = self.index(base)
        return base

    def index(self, base: str) -> str:
        raise DialectError("không hỗ trợ truy cập phần tử bằng [...]")

    def literal_or_name(self, constants: dict[str, str]) -> str:
        token = self.take()
        if token.kind == "number":
            return repr(token.value)
        if token.kind == "string":
            return repr(token.value)
        if token.kind == "name":
            if token.text in constants:
                return constants[token.text]
            if self.at("("):
                raise DialectError(f"hàm '{token.text}(...)' chưa được hỗ trợ; chỉ dùng biến, hằng và phép so sánh")
            return self.postfix(_variable(token.text))
        if token.text == "(":
            inner = self.expression()
            self.expect(")")
            return self.postfix(f"({inner})")
        raise DialectError(f"không hiểu '{token.text or 'hết biểu thức'}' ở vị trí này")


class _JuelParser(_Parser):
    """JUEL (Java Unified Expression Language) as Camunda 7 uses it in conditions."""

    dialect_name = "JUEL"
    _CONSTANTS = {"true": "True", "false": "False", "null": "None"}

    def top(self) -> str:
        condition = self.or_()
        if self.at("?"):
            self.take()
            then = self.expression()
            self.expect(":")
            otherwise = self.expression()
            return f"({then} if {condition} else {otherwise})"
        return condition

    def or_(self) -> str:
        return self.binary(self.and_, {"||": "or", "or": "or"})

    def and_(self) -> str:
        return self.binary(self.equality, {"&&": "and", "and": "and"})

    def equality(self) -> str:
        return self.comparison(self.relational, {"==": "==", "!=": "!=", "eq": "==", "ne": "!="})

    def relational(self) -> str:
        return self.comparison(self.additive, {"<": "<", ">": ">", "<=": "<=", ">=": ">=",
                                               "lt": "<", "gt": ">", "le": "<=", "ge": ">="})

    def additive(self) -> str:
        return self.binary(self.multiplicative, {"+": "+", "-": "-"})

    def multiplicative(self) -> str:
        return self.binary(self.unary, {"*": "*", "/": "/", "div": "/", "%": "%", "mod": "%"})

    def unary(self) -> str:
        if self.at("!", "not"):
            self.take()
            return f"(not {self.unary()})"
        if self.at("-"):
            self.take()
            return f"(-{self.unary()})"
        if self.at("empty"):
            self.take()
            return _empty(self.unary())
        if self.at("instanceof"):
            raise DialectError("toán tử 'instanceof' chưa được hỗ trợ")
        return self.literal_or_name(self._CONSTANTS)

    def index(self, base: str) -> str:
        key = self.expression()
        self.expect("]")
        return f"{base}[{key}]"


class _FeelParser(_Parser):
    """The FEEL subset Camunda 8 diagrams use in conditions: comparisons, and/or/not(), if-then-else."""

    dialect_name = "FEEL"
    _CONSTANTS = {"true": "True", "false": "False", "null": "None"}

    def top(self) -> str:
        if self.at("if"):
            self.take()
            condition = self.expression()
            self.expect("then")
            then = self.expression()
            self.expect("else")
            otherwise = self.expression()
            return f"({then} if {condition} else {otherwise})"
        if self.at("some", "every", "for", "function"):
            raise DialectError(f"cấu trúc FEEL '{self.current.text}' chưa được hỗ trợ")
        return self.or_()

    def or_(self) -> str:
        return self.binary(self.and_, {"or": "or"})

    def and_(self) -> str:
        return self.binary(self.comparison_, {"and": "and"})

    def comparison_(self) -> str:
        left = self.comparison(self.additive, {"=": "==", "!=": "!=", "<": "<", ">": ">", "<=": "<=", ">=": ">="})
        if self.at("between", "in", "instance"):
            raise DialectError(f"toán tử FEEL '{self.current.text}' chưa được hỗ trợ; hãy viết bằng các phép so "
                               "sánh nối bằng and/or")
        return left

    def additive(self) -> str:
        return self.binary(self.multiplicative, {"+": "+", "-": "-"})

    def multiplicative(self) -> str:
        return self.binary(self.power, {"*": "*", "/": "/"})

    def power(self) -> str:
        return self.binary(self.unary, {"**": "**"})

    def unary(self) -> str:
        if self.at("-"):
            self.take()
            return f"(-{self.unary()})"
        if self.at("["):  # a list literal; FEEL filters and 1-based indexing stay unsupported
            self.take()
            items = []
            while not self.at("]"):
                items.append(self.expression())
                if not self.at("]"):
                    self.expect(",")
            self.take()
            return f"[{', '.join(items)}]"
        if self.at("not") and self.tokens[self.pos + 1].text == "(":
            self.take()
            self.take()
            inner = self.expression()
            self.expect(")")
            return f"(not {inner})"
        return self.literal_or_name(self._CONSTANTS)
