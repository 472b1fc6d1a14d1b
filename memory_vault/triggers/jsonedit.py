"""JSON edit: a person's JSON settings file changed in place, every byte we do not touch kept.

`json.load` then `json.dump` would rewrite the whole file: its indentation, key order, escapes
and (in Gemini CLI's settings) its comments. Here a small scanner finds where each value lies
in the text; an edit inserts or deletes one span, copying the indentation of its neighbours,
and is checked by parsing the result: it must hold exactly the expected values, or nothing is
written. An insertion and the deletion of what it inserted give back the original bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from memory_vault.errors import ConfigError


@dataclass
class Node:
    """One value of the document: where it lies (`start` to `end`), and its parts."""

    kind: str  # "object", "array" or "scalar"
    start: int
    end: int
    keys: list[str] = field(default_factory=list)  # an object's, in order
    key_starts: list[int] = field(default_factory=list)  # where each key's quote is
    items: list[Node] = field(default_factory=list)  # an object's values, an array's items
    scalar: Any = None

    def member(self, key: str) -> Node | None:
        """An object's value for `key` (the last, as JSON parsers read duplicates)."""
        for name, item in zip(reversed(self.keys), reversed(self.items), strict=True):
            if name == key:
                return item
        return None

    def value(self) -> Any:
        if self.kind == "object":
            return {k: v.value() for k, v in zip(self.keys, self.items, strict=True)}
        if self.kind == "array":
            return [item.value() for item in self.items]
        return self.scalar


class _Scanner:
    """A JSON value with the positions of its parts; `//` and `/* */` comments are blank."""

    def __init__(self, text: str, path: str) -> None:
        self.text = text
        self.path = path
        self.at = 0

    def fail(self, what: str) -> ConfigError:
        line = self.text.count("\n", 0, self.at) + 1
        column = self.at - (self.text.rfind("\n", 0, self.at) + 1) + 1
        return ConfigError(f"{self.path} is not valid JSON (line {line}, column {column}: "
                           f"{what}); nothing was changed")

    def blank(self) -> None:
        text = self.text
        while self.at < len(text):
            if text[self.at] in " \t\r\n":
                self.at += 1
            elif text.startswith("//", self.at):
                end = text.find("\n", self.at)
                self.at = len(text) if end < 0 else end
            elif text.startswith("/*", self.at):
                end = text.find("*/", self.at + 2)
                if end < 0:
                    raise self.fail("a comment is not closed")
                self.at = end + 2
            else:
                return

    def document(self) -> Node:
        self.blank()
        node = self.value()
        self.blank()
        if self.at != len(self.text):
            raise self.fail("more text after the value")
        return node

    def value(self) -> Node:
        if self.at >= len(self.text):
            raise self.fail("a value is missing")
        char = self.text[self.at]
        if char in "{[":
            return self.container(char)
        start = self.at
        if char == '"':
            return Node("scalar", start, self.string_end(), scalar=self.decode(start))
        while self.at < len(self.text) and self.text[self.at] not in ",:]}/ \t\r\n":
            self.at += 1
        return Node("scalar", start, self.at, scalar=self.decode(start))

    def string_end(self) -> int:
        at = self.at + 1
        while at < len(self.text) and self.text[at] != '"':
            at += 2 if self.text[at] == "\\" else 1
        if at >= len(self.text):
            raise self.fail("a string is not closed")
        self.at = at + 1
        return self.at

    def decode(self, start: int) -> Any:
        try:
            return json.loads(self.text[start:self.at])
        except ValueError:
            self.at = start
            raise self.fail("not a JSON value") from None

    def container(self, opening: str) -> Node:
        closing = "}" if opening == "{" else "]"
        node = Node("object" if opening == "{" else "array", self.at, self.at)
        self.at += 1
        self.blank()
        while not self.text.startswith(closing, self.at):
            if self.at >= len(self.text):
                raise self.fail(f"the text ends before the closing '{closing}'")
            if node.items:
                if not self.text.startswith(",", self.at):
                    raise self.fail(f"expected ',' or '{closing}'")
                self.at += 1
                self.blank()
            if opening == "{":
                node.key_starts.append(self.at)
                node.keys.append(self.key())
            node.items.append(self.value())
            self.blank()
        self.at += 1
        node.end = self.at
        return node

    def key(self) -> str:
        if not self.text.startswith('"', self.at):
            raise self.fail("expected a key in double quotes")
        start = self.at
        self.string_end()
        key = self.decode(start)
        self.blank()
        if not self.text.startswith(":", self.at):
            raise self.fail("expected ':' after a key")
        self.at += 1
        self.blank()
        return str(key)


def parse(text: str, path: str) -> Node:
    """The document's values and where each lies (raises ConfigError naming `path`)."""
    return _Scanner(text, path).document()


def indent_unit(text: str) -> str:
    """The file's own indentation step: the first indented line's, else two spaces."""
    for line in text.splitlines()[1:]:
        stripped = line.lstrip(" \t")
        if stripped and len(stripped) < len(line):
            return line[: len(line) - len(stripped)]
    return "  "


def _line_indent(text: str, at: int) -> str:
    start = text.rfind("\n", 0, at) + 1
    end = start
    while end < len(text) and text[end] in " \t":
        end += 1
    return text[start:end]


def _render(value: Any, unit: str, indent: str, one_line: bool, newline: str) -> str:
    if one_line:
        return json.dumps(value, ensure_ascii=False)
    lines = json.dumps(value, ensure_ascii=False, indent=unit).split("\n")
    return newline.join([lines[0], *(indent + line for line in lines[1:])])


def _start(container: Node, index: int) -> int:
    """Where item `index` begins: its key's quote in an object."""
    if container.kind == "object":
        return container.key_starts[index]
    return container.items[index].start


def append(text: str, container: Node, value: Any, key: str | None = None) -> str:
    """`text` with `value` added after the container's last item (under `key` in an object),
    laid out like its neighbours."""
    unit = indent_unit(text)
    newline = "\r\n" if "\r\n" in text else "\n"
    one_line = "\n" not in text[container.start:container.end] and bool(container.items)
    prefix = "" if key is None else json.dumps(key, ensure_ascii=False) + ": "
    if container.items:
        indent = _line_indent(text, _start(container, len(container.items) - 1))
        sep = ", " if one_line else "," + newline + indent
        body = sep + prefix + _render(value, unit, indent, one_line, newline)
        end = container.items[-1].end
        return text[:end] + body + text[end:]
    outer = _line_indent(text, container.start)
    inner = outer + unit
    body = (newline + inner + prefix + _render(value, unit, inner, False, newline) + newline
            + outer)
    return text[:container.start + 1] + body + text[container.end - 1:]


def remove(text: str, container: Node, index: int) -> str:
    """`text` without the container's item `index` (and its key): the inverse of `append`."""
    if len(container.items) == 1:
        return text[:container.start + 1] + text[container.end - 1:]
    if index > 0:
        return text[:container.items[index - 1].end] + text[container.items[index].end:]
    return text[:_start(container, 0)] + text[_start(container, 1):]
