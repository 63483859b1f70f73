"""A small, hardened XML reader for report files that keeps each element's line number.

Built on the standard library's expat: any DTD, entity declaration or external reference
is refused (no billion laughs, no XXE), and the result is a plain tree of `Node`s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.parsers import expat

NS_SEP = "}"
MAX_DEPTH = 64


class XmlProblem(Exception):
    """The file is not acceptable XML; `line` is where expat stopped."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass
class Node:
    """One element: namespace, local name, attributes, direct text, children, line."""

    namespace: str
    name: str
    attrs: dict[str, str]
    line: int
    text: str = ""
    children: list[Node] = field(default_factory=list)

    def child(self, name: str) -> Node | None:
        return next((c for c in self.children if c.name == name), None)


def _split(qualified: str) -> tuple[str, str]:
    if NS_SEP in qualified:
        namespace, _, local = qualified.partition(NS_SEP)
        return namespace, local
    return "", qualified


def parse_xml(data: bytes) -> Node:
    """Parse `data` into a Node tree; XmlProblem on malformed XML, DTDs or entities."""
    parser = expat.ParserCreate(namespace_separator=NS_SEP)
    stack: list[Node] = []
    root: list[Node] = []

    def refuse(what: str) -> None:
        raise XmlProblem(f"{what} are not allowed in a report", parser.CurrentLineNumber)

    def start(name: str, attrs: dict[str, str]) -> None:
        if len(stack) >= MAX_DEPTH:
            raise XmlProblem("elements nested too deeply", parser.CurrentLineNumber)
        namespace, local = _split(name)
        plain = {_split(k)[1]: v for k, v in attrs.items()}
        node = Node(namespace, local, plain, parser.CurrentLineNumber)
        if stack:
            stack[-1].children.append(node)
        else:
            root.append(node)
        stack.append(node)

    def end(_name: str) -> None:
        node = stack.pop()
        node.text = node.text.strip()

    def text(data: str) -> None:
        if stack:
            stack[-1].text += data

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    parser.StartDoctypeDeclHandler = lambda *_a: refuse("DTDs (<!DOCTYPE>)")
    parser.EntityDeclHandler = lambda *_a: refuse("entity declarations")
    parser.ExternalEntityRefHandler = lambda *_a: refuse("external entities")  # type: ignore[assignment]
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        parser.Parse(data, True)
    except XmlProblem:
        raise
    except expat.ExpatError as exc:
        raise XmlProblem(
            f"not well-formed XML: {expat.ErrorString(exc.code)}", exc.lineno
        ) from None
    if not root:
        raise XmlProblem("no root element", None)
    return root[0]


__all__ = ["Node", "XmlProblem", "parse_xml"]
