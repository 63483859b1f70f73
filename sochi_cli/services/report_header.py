"""Stream the `<header>` of a report XML (docs/api.md "Report XML format") while hashing the file.

One pass, constant memory: the file is read in chunks, every chunk goes to SHA-256, and the
XML parser is fed only until `</header>` closes. DTDs and entity declarations are refused.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat

REPORT_NS = "urn:sochi:report:1"
_CHUNK = 256 * 1024
_SEP = "}"
_FIELDS = {"inn": "inn", "period": "period", "correction": "correction", "filer-inn": "filer_inn"}


class HeaderError(Exception):
    """The report cannot be read: `line` (1-based) when known, a one-line reason."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


@dataclass
class ReportHeader:
    """What the plan needs from a report: its identity and where each value was found."""

    sha256: str
    size: int
    form: str | None = None
    inn: str | None = None
    period: str | None = None
    correction: str | None = None
    filer_inn: str | None = None
    lines: dict[str, int] = field(default_factory=dict)


class _Reader:
    def __init__(self, header: ReportHeader) -> None:
        self.header = header
        self.depth = 0
        self.in_header = False
        self.done = False
        self.current: str | None = None
        self.text: list[str] = []
        self.parser = expat.ParserCreate(namespace_separator=_SEP)
        self.parser.StartElementHandler = self.start
        self.parser.EndElementHandler = self.end
        self.parser.CharacterDataHandler = self.chars
        self.parser.StartDoctypeDeclHandler = self.refuse_dtd
        self.parser.EntityDeclHandler = self.refuse_entity

    def refuse_dtd(self, *_: object) -> None:
        raise HeaderError("DOCTYPE declarations are not allowed", self.parser.CurrentLineNumber)

    def refuse_entity(self, *_: object) -> None:
        raise HeaderError("entity declarations are not allowed", self.parser.CurrentLineNumber)

    def start(self, name: str, attrs: dict[str, str]) -> None:
        ns, _, local = name.rpartition(_SEP)
        self.depth += 1
        line = self.parser.CurrentLineNumber
        if self.depth == 1:
            if local != "report" or ns != REPORT_NS:
                raise HeaderError(f'root element must be <report xmlns="{REPORT_NS}">', line)
            self.header.form = attrs.get("form")
            self.header.lines["form"] = line
        elif self.depth == 2 and local == "header":
            self.in_header = True
        elif self.depth == 3 and self.in_header and local in _FIELDS:
            self.current = _FIELDS[local]
            self.text = []
            self.header.lines[self.current] = line

    def end(self, name: str) -> None:
        local = name.rpartition(_SEP)[2]
        if self.depth == 3 and self.current is not None:
            setattr(self.header, self.current, "".join(self.text).strip())
            self.current = None
        elif self.depth == 2 and local == "header":
            self.in_header = False
            self.done = True
        self.depth -= 1

    def chars(self, data: str) -> None:
        if self.current is not None:
            self.text.append(data)


def read_report_header(path: Path) -> ReportHeader:
    """Hash the whole file and parse its header; raises HeaderError or OSError."""
    digest = hashlib.sha256()
    header = ReportHeader(sha256="", size=0)
    reader = _Reader(header)
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            if not reader.done:
                _feed(reader, chunk, final=False)
        if not reader.done:
            _feed(reader, b"", final=True)
    if size == 0:
        raise HeaderError("the file is empty", 1)
    if reader.depth == 0 and header.form is None and not reader.done:
        raise HeaderError("no <report> element", 1)
    header.sha256, header.size = digest.hexdigest(), size
    return header


def _feed(reader: _Reader, chunk: bytes, *, final: bool) -> None:
    try:
        reader.parser.Parse(chunk, final)
    except expat.ExpatError as exc:
        reason = expat.ErrorString(exc.code) if exc.code else str(exc)
        raise HeaderError(f"not well-formed XML: {reason}", exc.lineno) from None
    except RecursionError:
        raise HeaderError("XML nested too deeply", reader.parser.CurrentLineNumber) from None


__all__ = ["REPORT_NS", "HeaderError", "ReportHeader", "read_report_header"]
