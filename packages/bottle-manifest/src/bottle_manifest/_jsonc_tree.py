"""JSONC read as a tree of positions, so a program can change one value of a file a person wrote
and keep everything else as it was: comments, trailing commas, indentation, key order.

Only what an edit needs: each value's span in the text, an object's members (key and value) and
an array's items, each with the comma after it if there is one, and the comments between tokens
left where they are. The document is assumed to parse (`_jsonc.loads` says why when it does not)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from ._jsonc import JsoncError

_SPACE = re.compile(r"(?:\s+|//[^\n]*|/\*.*?\*/)*", re.DOTALL)  # blanks and comments between tokens
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_SCALAR = re.compile(r"[^\s,:\[\]{}/]+")  # a number, true, false or null


@dataclass
class Node:
    start: int
    end: int  # one past the value's last character
    kind: str  # "object", "array", "string" or "scalar"
    value: object = None  # a string's or scalar's decoded value
    members: list[tuple[str, Node]] = field(default_factory=list)  # an object's, in order
    items: list[Node] = field(default_factory=list)  # an array's
    comma: int | None = None  # the position of the comma after this value in its container
    close: int = 0  # an object's or array's closing bracket

    def get(self, key: str) -> Node | None:
        """An object's member; the last of several with one name, as JSON reads them."""
        found = [node for name, node in self.members if name == key]
        return found[-1] if found else None


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    def skip(self) -> None:
        self.at = _SPACE.match(self.text, self.at).end()  # type: ignore[union-attr]

    def fail(self, message: str) -> JsoncError:
        line = self.text.count("\n", 0, self.at) + 1
        return JsoncError(message, line, self.at - (self.text.rfind("\n", 0, self.at) + 1) + 1)

    def value(self) -> Node:
        self.skip()
        char = self.text[self.at : self.at + 1]
        if char == "{":
            return self.container("}", object_=True)
        if char == "[":
            return self.container("]", object_=False)
        if char == '"':
            found = _STRING.match(self.text, self.at)
            if found is None:
                raise self.fail("unterminated string")
            self.at = found.end()
            return Node(found.start(), found.end(), "string", json.loads(found.group()))
        found = _SCALAR.match(self.text, self.at)
        if found is None:
            raise self.fail("expected a value")
        self.at = found.end()
        return Node(found.start(), found.end(), "scalar", found.group())

    def container(self, closing: str, object_: bool) -> Node:
        node = Node(self.at, self.at, "object" if object_ else "array")
        self.at += 1
        while True:
            self.skip()
            if self.text.startswith(closing, self.at):
                node.close, node.end = self.at, self.at + 1
                self.at += 1
                return node
            if object_:
                key = self.value()
                if key.kind != "string":
                    raise self.fail("expected a key")
                self.skip()
                if not self.text.startswith(":", self.at):
                    raise self.fail("expected ':'")
                self.at += 1
                item = self.value()
                node.members.append((str(key.value), item))
            else:
                item = self.value()
                node.items.append(item)
            self.skip()
            if self.text.startswith(",", self.at):
                item.comma = self.at
                self.at += 1
            elif not self.text.startswith(closing, self.at):
                raise self.fail(f"expected ',' or {closing!r}")


def parse_tree(text: str) -> Node:
    reader = _Reader(text)
    root = reader.value()
    reader.skip()
    if reader.at != len(text):
        raise reader.fail("text after the document")
    return root
