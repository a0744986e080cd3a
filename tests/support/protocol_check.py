"""Checks a JSON value against a protocol type (apps/*/protocol.py): a typed dict's required
and optional keys and no others, primitive types, literals, lists, string-keyed objects,
unions and nested typed dicts. What a contract test needs, not a general validator."""

from __future__ import annotations

import types
import typing


def protocol_problems(value: object, expected: object, *, path: str = "$") -> list[str]:
    """Every way `value` differs from `expected`; empty when it fits."""
    origin, args = typing.get_origin(expected), typing.get_args(expected)
    if typing.is_typeddict(expected):
        return _typed_dict_problems(value, expected, path=path)
    if origin in (typing.Union, types.UnionType):
        return _union_problems(value, args, path=path)
    if origin is typing.Literal:
        # True == 1 in Python, never on the wire.
        if any(value == arg and type(value) is type(arg) for arg in args):
            return []
        return [f"{path}: {value!r} is not one of {list(args)}"]
    if origin is list:
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {_json_kind(value)}"]
        return [
            problem
            for index, item in enumerate(value)
            for problem in protocol_problems(item, args[0], path=f"{path}[{index}]")
        ]
    if origin is dict:
        if not isinstance(value, dict):
            return [f"{path}: expected an object, got {_json_kind(value)}"]
        return [
            problem
            for key, item in value.items()
            for problem in protocol_problems(item, args[1], path=f"{path}.{key}")
        ]
    if expected is type(None) or expected is None:
        return [] if value is None else [f"{path}: expected null, got {_json_kind(value)}"]
    if expected is bool:
        return [] if isinstance(value, bool) else [f"{path}: expected a boolean, got {value!r}"]
    if expected is int:
        fits = isinstance(value, int) and not isinstance(value, bool)
        return [] if fits else [f"{path}: expected an integer, got {value!r}"]
    if expected is float:
        fits = isinstance(value, (int, float)) and not isinstance(value, bool)
        return [] if fits else [f"{path}: expected a number, got {value!r}"]
    if expected is str:
        return [] if isinstance(value, str) else [f"{path}: expected a string, got {value!r}"]
    raise TypeError(f"protocol_problems does not know {expected!r}")


def protocol_check(value: object, expected: object, *, what: str = "value") -> None:
    """Fails the test with every problem, naming `what` and showing the value."""
    problems = protocol_problems(value, expected)
    assert not problems, f"{what} does not fit the protocol: {problems}\n{value!r}"


def _typed_dict_problems(value: object, typed_dict: type, *, path: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{path}: expected a {typed_dict.__name__} object, got {_json_kind(value)}"]
    hints = typing.get_type_hints(typed_dict)
    problems = [
        f"{path}: {typed_dict.__name__} lacks {key!r}"
        for key in sorted(typed_dict.__required_keys__ - value.keys())
    ]
    problems += [
        f"{path}: {typed_dict.__name__} has no key {key!r}"
        for key in sorted(value.keys() - hints.keys())
    ]
    for key, item in value.items():
        if key in hints:
            problems += protocol_problems(item, hints[key], path=f"{path}.{key}")
    return problems


def _union_problems(value: object, members: tuple, *, path: str) -> list[str]:
    failures = []
    for member in members:
        problems = protocol_problems(value, member, path=path)
        if not problems:
            return []
        failures.append((member, problems))
    # Say why against the members that name this frame's `type`, if any (a renamed key in a
    # `message` frame is a problem of MessageFrame, not of the other 24 frames).
    same_type = [
        (member, problems)
        for member, problems in failures
        if typing.is_typeddict(member) and _type_matches(value, member)
    ]
    if same_type:
        names = " | ".join(_name(member) for member, _ in same_type)
        return [f"{path}: does not fit {names}", *(p for _, ps in same_type for p in ps)]
    return [f"{path}: fits none of {' | '.join(_name(member) for member in members)}"]


def _type_matches(value: object, typed_dict: type) -> bool:
    if not isinstance(value, dict):
        return False
    hint = typing.get_type_hints(typed_dict).get("type")
    if hint is None:
        return "type" not in value
    return value.get("type") in typing.get_args(hint) or (
        "type" not in value and "type" in typed_dict.__optional_keys__
    )


def _name(expected: object) -> str:
    return getattr(expected, "__name__", None) or repr(expected)


def _json_kind(value: object) -> str:
    return "null" if value is None else type(value).__name__
