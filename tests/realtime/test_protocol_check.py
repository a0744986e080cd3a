"""The contract tests' checker, and the generator's mapping of Python types to TypeScript,
on small shapes of their own."""

import sys
import types
from typing import Literal, NotRequired, TypedDict

from apps.realtime.typescript import _Writer
from tests.support.protocol_check import protocol_problems


class Inner(TypedDict):
    seq: int


class Sample(TypedDict):
    type: Literal["sample"]
    name: str
    ratio: float
    flag: bool
    maybe: str | None
    items: list[Inner]
    by_key: dict[str, int]
    extra: NotRequired[Inner]


GOOD = {
    "type": "sample",
    "name": "n",
    "ratio": 1,
    "flag": False,
    "maybe": None,
    "items": [{"seq": 1}],
    "by_key": {"a": 1},
}


def test_a_value_that_fits_has_no_problems():
    assert protocol_problems(GOOD, Sample) == []
    assert protocol_problems({**GOOD, "extra": {"seq": 2}}, Sample) == []


def test_every_kind_of_misfit_is_named():
    cases = {
        "missing": ({k: v for k, v in GOOD.items() if k != "name"}, "lacks 'name'"),
        "unknown": ({**GOOD, "nmae": "n"}, "has no key 'nmae'"),
        "literal": ({**GOOD, "type": "other"}, "is not one of"),
        "bool as int": ({**GOOD, "items": [{"seq": True}]}, "$.items[0].seq"),
        "int as bool": ({**GOOD, "flag": 0}, "expected a boolean"),
        "null": ({**GOOD, "name": None}, "expected a string"),
        "union": ({**GOOD, "maybe": 3}, "$.maybe: fits none"),
        "record": ({**GOOD, "by_key": {"a": "1"}}, "$.by_key.a"),
        "nested": ({**GOOD, "extra": {"seq": 1, "more": 1}}, "Inner has no key 'more'"),
    }
    for case, (value, expected) in cases.items():
        problems = protocol_problems(value, Sample)
        assert any(expected in problem for problem in problems), (case, problems)


def test_the_generator_maps_each_python_type_to_its_typescript_type():
    module = types.ModuleType("sample_protocol")
    home = __name__
    for typed_dict in (Inner, Sample):
        typed_dict.__module__ = module.__name__
        setattr(module, typed_dict.__name__, typed_dict)
    module.SampleFrame = Sample | Inner
    sys.modules[module.__name__] = module
    try:
        writer = _Writer()
        writer.module(module)
    finally:
        del sys.modules[module.__name__]
        Inner.__module__ = Sample.__module__ = home
    text = "\n".join(writer.lines)
    for line in (
        "export interface Sample {",
        '  type: "sample";',
        "  name: string;",
        "  ratio: number;",
        "  flag: boolean;",
        "  maybe: string | null;",
        "  items: Inner[];",
        "  by_key: Record<string, number>;",
        "  extra?: Inner;",
        "export type SampleFrame = Sample | Inner;",
    ):
        assert line in text.splitlines(), (line, text)
