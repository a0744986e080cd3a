"""The front end's wire types, generated from the protocol modules' typed dicts.

    .venv/bin/python -m apps.realtime.typescript        writes frontend/src/lib/protocol.ts
    .venv/bin/python -m apps.realtime.typescript --check  exits 1 if that file is stale

`protocol_typescript()` returns the text; tests/realtime/test_protocol_typescript.py fails
when the checked-in file differs from it. Every typed dict becomes an interface of the same
name with the keys as on the wire (snake_case), every module-level `Literal` or union alias
a type alias, an IntEnum a const object with a type of its values. Standard library only.
"""

from __future__ import annotations

import enum
import importlib
import inspect
import json
import sys
import types
import typing
from pathlib import Path
from typing import Any

PROTOCOL_MODULES = (
    "apps.accounts.protocol",
    "apps.chats.protocol",
    "apps.voice.protocol",
    "apps.realtime.protocol",
)
COMMAND = ".venv/bin/python -m apps.realtime.typescript"
REPOSITORY = Path(__file__).resolve().parents[2]
TYPESCRIPT_PATH = REPOSITORY / "frontend" / "src" / "lib" / "protocol.ts"
INDENT = "  "
LINE_MAX_CHARS = 100


def _is_alias(value: object) -> bool:
    return typing.get_origin(value) in (typing.Literal, typing.Union, types.UnionType)


def _is_int_enum(value: object) -> bool:
    return isinstance(value, type) and issubclass(value, enum.IntEnum) and value is not enum.IntEnum


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.declared: set[str] = set()
        # (alias value, its name): a field typed with an alias is written as the alias.
        self.aliases: list[tuple[object, str]] = []

    def module(self, module: types.ModuleType) -> None:
        self.lines.append(f"// --- {module.__name__} ---")
        self.lines.append("")
        for name, value in vars(module).items():
            if name.startswith("_") or name in self.declared:
                continue
            if typing.is_typeddict(value) and value.__module__ == module.__name__:
                self.interface(name, value)
            elif _is_int_enum(value) and value.__module__ == module.__name__:
                self.int_enum(name, value)
            elif _is_alias(value):
                self.alias(name, value)
            else:
                continue
            self.declared.add(name)
            self.lines.append("")

    def docstring(self, owner: type, *, indent: str = "") -> None:
        # The class's own docstring, never one it inherits.
        doc = owner.__dict__.get("__doc__")
        if not doc:
            return
        doc = inspect.cleandoc(doc)
        self.lines.append(f"{indent}/**")
        self.lines.extend(f"{indent} * {line}".rstrip() for line in doc.splitlines())
        self.lines.append(f"{indent} */")

    def interface(self, name: str, typed_dict: Any) -> None:
        hints = typing.get_type_hints(typed_dict)
        optional = typed_dict.__optional_keys__
        self.docstring(typed_dict)
        # Inherited keys are written out (Python 3.11 keeps no record of a typed dict's bases).
        self.lines.append(f"export interface {name} {{")
        for key, hint in hints.items():
            mark = "?" if key in optional else ""
            self.lines.append(f"{INDENT}{key}{mark}: {self.type(hint)};")
        self.lines.append("}")

    def alias(self, name: str, value: object) -> None:
        self.lines.append(f"export type {name} =")
        members = (
            [typing.Literal[arg] for arg in typing.get_args(value)]
            if typing.get_origin(value) is typing.Literal
            else typing.get_args(value)
        )
        rendered = [self.type(member) for member in self.grouped(members)]
        one_line = f"export type {name} = {' | '.join(rendered)};"
        if len(one_line) <= LINE_MAX_CHARS:
            self.lines[-1] = one_line
            self.aliases.append((value, name))
            return
        for index, member in enumerate(rendered):
            end = ";" if index == len(rendered) - 1 else ""
            self.lines.append(f"{INDENT}| {member}{end}")
        self.aliases.append((value, name))

    def grouped(self, members: tuple | list) -> list:
        """A union's members with each run that is an earlier union alias's written as that
        alias (Python flattens `A | B` where B is itself a union)."""
        members = list(members)
        for value, _name in self.aliases:
            run = list(typing.get_args(value))
            if typing.get_origin(value) is typing.Literal or len(run) < 2:
                continue
            for start in range(len(members) - len(run) + 1):
                if members[start : start + len(run)] == run:
                    members[start : start + len(run)] = [value]
                    break
        return members

    def int_enum(self, name: str, enum_class: type[enum.IntEnum]) -> None:
        self.docstring(enum_class)
        self.lines.append(f"export const {name} = {{")
        for member in enum_class:
            self.lines.append(f"{INDENT}{member.name}: {member.value},")
        self.lines.append("} as const;")
        self.lines.append(f"export type {name} = (typeof {name})[keyof typeof {name}];")

    def type(self, hint: object) -> str:
        for value, name in self.aliases:
            if hint == value:
                return name
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if hint is str:
            return "string"
        if hint in (int, float):
            return "number"
        if hint is bool:
            return "boolean"
        if hint is type(None) or hint is None:
            return "null"
        if typing.is_typeddict(hint):
            name = typing.cast(type, hint).__name__
            if name not in self.declared:
                raise TypeError(f"{name} is used before it is declared")
            return name
        if origin is typing.Literal:
            return " | ".join(json.dumps(arg) for arg in args)
        if origin in (typing.Union, types.UnionType):
            return " | ".join(self.type(arg) for arg in args)
        if origin is list:
            (item,) = args
            rendered = self.type(item)
            return f"({rendered})[]" if " | " in rendered else f"{rendered}[]"
        if origin is dict:
            key, value = args
            if key is not str:
                raise TypeError(f"a JSON object's keys are strings, not {key}")
            return f"Record<string, {self.type(value)}>"
        raise TypeError(f"no TypeScript type for {hint!r}")


def protocol_typescript() -> str:
    """The text of frontend/src/lib/protocol.ts."""
    writer = _Writer()
    for name in PROTOCOL_MODULES:
        writer.module(importlib.import_module(name))
    sources = ", ".join(name.replace(".", "/") + ".py" for name in PROTOCOL_MODULES)
    header = [
        f"// Generated by `{COMMAND}` from {sources}.",
        "// Do not edit: change those modules and run the command again",
        "// (tests/realtime/test_protocol_typescript.py fails while this file is stale).",
        "// The shapes on the wire of the REST replies and of the chat socket's frames, keys in",
        "// snake_case as sent.",
        "",
    ]
    while writer.lines and not writer.lines[-1]:
        writer.lines.pop()
    return "\n".join(header + writer.lines) + "\n"


def protocol_typescript_write(*, path: Path = TYPESCRIPT_PATH) -> bool:
    """Write the file; True if it changed."""
    text = protocol_typescript()
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True


def main(argv: list[str]) -> int:
    if "--check" in argv:
        stale = TYPESCRIPT_PATH.read_text(encoding="utf-8") != protocol_typescript()
        if stale:
            sys.stderr.write(f"{TYPESCRIPT_PATH} is stale: run {COMMAND}\n")
        return 1 if stale else 0
    changed = protocol_typescript_write()
    state = "written" if changed else "unchanged"
    sys.stdout.write(f"{TYPESCRIPT_PATH.relative_to(REPOSITORY)} {state}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
