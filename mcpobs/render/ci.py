"""What CI reads, for every command that gates a build: JUnit XML and GitHub Actions workflow commands.

One definition of each format; ``check-alerts`` and ``lint`` describe their results as suites of
cases, or as annotations, and render them here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from xml.etree import ElementTree as ET

from mcpobs.render.text import visible

# Characters XML 1.0 cannot hold, not even escaped: control characters, lone surrogates, U+FFFE/FFFF.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class Failure:
    message: str
    type: str
    text: str


@dataclass(frozen=True)
class Case:
    """A test case: it failed, was skipped (no verdict), or passed with something to say (``output``)."""

    classname: str
    name: str
    failure: Failure | None = None
    skipped: str | None = None
    output: str | None = None


@dataclass(frozen=True)
class Suite:
    name: str
    cases: Sequence[Case]
    properties: Sequence[tuple[str, str]] = field(default=())
    file: str | None = None


def junit(title: str, suites: Sequence[Suite]) -> str:
    """JUnit XML of the suites (every time 0: a check takes no time worth reporting)."""
    cases = [c for s in suites for c in s.cases]
    root = ET.Element(
        "testsuites",
        {
            "name": title,
            "tests": str(len(cases)),
            "failures": str(sum(c.failure is not None for c in cases)),
            "errors": "0",
            "time": "0",
        },
    )
    for suite in suites:
        attributes = {
            "name": suite.name,
            "tests": str(len(suite.cases)),
            "failures": str(sum(c.failure is not None for c in suite.cases)),
            "errors": "0",
            "skipped": str(sum(c.skipped is not None for c in suite.cases)),
            "time": "0",
        }
        if suite.file is not None:
            attributes["file"] = suite.file
        element = ET.SubElement(root, "testsuite", attributes)
        properties = ET.SubElement(element, "properties")
        for name, value in suite.properties:
            ET.SubElement(properties, "property", {"name": name, "value": value})
        for case in suite.cases:
            node = ET.SubElement(element, "testcase", {"classname": case.classname, "name": case.name, "time": "0"})
            if case.failure is not None:
                failure = ET.SubElement(node, "failure", {"message": case.failure.message, "type": case.failure.type})
                failure.text = case.failure.text
            elif case.skipped is not None:
                ET.SubElement(node, "skipped", {"message": case.skipped})
            elif case.output is not None:
                ET.SubElement(node, "system-out").text = case.output
    ET.indent(root)
    # names come from rules files and input data: whatever XML cannot hold becomes U+FFFD
    return _NOT_XML.sub(
        "\ufffd", '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
    )


def annotation(
    level: str, text: str, *, file: str | None = None, line: int | None = None, col: int | None = None, title: str = ""
) -> str:
    """One GitHub Actions workflow command (``::error file=…,line=…,title=…::text``), without its newline."""
    props = [f"file={_prop(file)}"] if file is not None else []
    props += [f"line={line}"] if line is not None else []
    props += [f"col={col}"] if col is not None else []
    props += [f"title={_prop(title)}"] if title else []
    return f"::{level} {','.join(props)}::{_data(text)}" if props else f"::{level}::{_data(text)}"


def _data(text: str) -> str:
    # a newline parts the lines of a message; any other control character from the input (an ESC
    # colours or hides the rest of a CI log) is shown as its stand-in, as on a terminal
    lines = text.replace("\r\n", "\n").split("\n")
    return "%0A".join(visible(line).replace("%", "%25") for line in lines)


def _prop(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")
