"""JUEL and FEEL translated to Python, evaluated by the same restricted evaluator the engine uses."""

import pytest

from app.engine.dialects import DialectError, dialect_of, to_python
from app.engine.scripting import RestrictedEnvironment

ENV = RestrictedEnvironment()

CASES = [  # (expression, data, expected value)
    ("${a || b && c}", {"a": True, "b": True, "c": False}, True),
    ("${(a || b) && c}", {"a": True, "b": True, "c": False}, False),
    ("${!a == b}", {"a": True, "b": False}, True),
    ("${1 + 2 * 3 == 7}", {}, True),
    ("${x / 2 == 2.5}", {"x": 5}, True),
    ("${x div 2 ge 2 and x mod 3 == 2}", {"x": 5}, True),
    ("${-x lt 0}", {"x": 1}, True),
    ("${a ? 'co' : 'khong'}", {"a": False}, "khong"),
    ("${s == \"kep\" || s == 'it\\'s'}", {"s": "it's"}, True),
    ("${empty ds}", {"ds": []}, True),
    ("${empty ds}", {"ds": {"k": 1}}, False),
    ("${empty ds}", {"ds": None}, True),
    ("${not empty ten && ten > 'an'}", {"ten": "binh"}, True),
    ("${hoSo.loai == 'cap_moi' and hoSo['so'] > 3}", {"hoSo": {"loai": "cap_moi", "so": 4}}, True),
    ("${x eq null}", {"x": None}, True),
    ("#{true}", {}, True),
    ("= 2 ** 3 = 8", {}, True),
    ("= -x < 0 and not(y)", {"x": 2, "y": False}, True),
    ('= if diem >= 5 then "dat" else "truot"', {"diem": 4}, "truot"),
    ('= hoSo.loai = "cap_moi"', {"hoSo": {"loai": "cap_moi"}}, True),
    ("= x != null", {"x": None}, False),
    ("=(a or b) and c", {"a": False, "b": True, "c": True}, True),
]


@pytest.mark.parametrize(("expression", "data", "expected"), CASES, ids=[c[0] for c in CASES])
def test_translation_evaluates_like_the_dialect(expression, data, expected):
    assert ENV.evaluate(to_python(expression), dict(data)) == expected


@pytest.mark.parametrize("expression", [
    "${a.getX()}", "${f(1)}", "${a ==}", "${a > b > c}", "${'open}", "${a @ b}", "x ${a}", "${a} ${b}",
    "${lambda}", "${_secret}", "${}", "= a in [1,2]", "= x between 1 and 2", "= every x in xs satisfies x",
    "= 'single'", "= date(\"2026-01-01\")", "= a instance of string", "=", "${" + "(" * 60 + "a" + ")" * 60 + "}",
])
def test_unsupported_constructs_raise(expression):
    with pytest.raises(DialectError) as caught:
        to_python(expression)
    assert str(caught.value)  # the Vietnamese explanation shown at deploy


def test_python_is_left_alone():
    assert dialect_of("approved == True") == "python"
    assert to_python("a >= 1 and b != 'x'") == "a >= 1 and b != 'x'"
    assert dialect_of("${a}") == "juel" and dialect_of("= a") == "feel" and dialect_of("== a") == "python"
