"""The extension's TypeScript never hands a string to an HTML parser: model strings reach the page
through ``textContent`` and harmless attributes only, in every host (the JupyterLab extension,
and the anywidget and standalone module built from ``src/bundle/``). A static scan of
``extension/src`` for the APIs that parse markup or run code; the browser tests
(``tests/ui/test_graph_xss.py``, and each host's file) check the same in the running UI."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[1] / "extension" / "src"
#: What parses a string as HTML, or runs it as code.
SINKS = re.compile(
    r"\b(?:innerHTML|outerHTML|insertAdjacentHTML|dangerouslySetInnerHTML|DOMParser|createContextualFragment)\b"
    r"|\bdocument\s*\.\s*write(?:ln)?\s*\("
    r"|\bnew\s+Function\s*\("
    r"|(?<!\w)eval\s*\("
)
# A comment, or a string literal (kept: `el['innerHTML']` is a sink). Regex literals are not
# recognised; one holding a quote or `//` would confuse the scan (the extension has none).
_TOKEN = re.compile(r"//[^\n]*|/\*.*?\*/|'(?:\\.|[^'\\\n])*'|\"(?:\\.|[^\"\\\n])*\"|`(?:\\.|[^`\\])*`", re.S)


@dataclass(frozen=True)
class Finding:
    """One sink in one file: where, and the line it is on."""

    path: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.text}"


def strip_comments(code: str) -> str:
    """``code`` with every comment blanked out (newlines kept, so line numbers hold)."""

    def blank(match: re.Match[str]) -> str:
        token = match.group()
        return re.sub(r"[^\n]", " ", token) if token.startswith("/") else token

    return _TOKEN.sub(blank, code)


def find_sinks(code: str, path: str = "<string>") -> list[Finding]:
    """The HTML-parsing and code-running calls in ``code`` (TypeScript), comments excluded."""
    lines = code.splitlines()
    findings = []
    for match in SINKS.finditer(strip_comments(code)):
        line = code.count("\n", 0, match.start()) + 1
        findings.append(Finding(path, line, lines[line - 1].strip()))
    return findings


def test_extension_source_has_no_html_sinks() -> None:
    """No file under ``extension/src`` uses an API that parses markup or evaluates code."""
    files = sorted(p for p in SOURCE.rglob("*") if p.suffix in (".ts", ".tsx"))
    assert len(files) > 5, f"no TypeScript found under {SOURCE}"
    # every host's code: the extension's, the renderer's, and the widget and standalone module's
    assert {p.parent.name for p in files} >= {"src", "view", "bundle"}
    findings = [
        finding
        for path in files
        for finding in find_sinks(path.read_text(encoding="utf-8"), str(path.relative_to(SOURCE.parents[1])))
    ]
    assert not findings, "model strings could reach an HTML parser or eval:\n" + "\n".join(map(str, findings))


@pytest.mark.parametrize(
    "sink",
    [
        "el.innerHTML = name;",
        "el.outerHTML = name;",
        "el['innerHTML'] = name;",
        "el.insertAdjacentHTML('beforeend', name);",
        "document.write(name);",
        "document . writeln(name);",
        "return <div dangerouslySetInnerHTML={{ __html: name }} />;",
        "new DOMParser().parseFromString(name, 'text/html');",
        "range.createContextualFragment(name);",
        "const f = new Function('x', name);",
        "eval(name);",
        "window.eval(name);",
    ],
)
def test_scan_finds_each_sink_with_its_line(sink: str) -> None:
    """Each sink is found, on its line, after comments and strings that look like comments."""
    code = f"/* a\n   block */\nconst url = 'http://example.com'; {sink}\n"
    assert find_sinks(code, "x.ts") == [Finding("x.ts", 3, f"const url = 'http://example.com'; {sink}")]


def test_scan_skips_comments_and_lookalikes() -> None:
    """Sinks named in comments, and names that merely contain a sink's, are not findings."""
    code = (
        "// never innerHTML\n"
        "/* eval(x) and\n   document.write(x) */\n"
        "node.textContent = text; // not innerHTML\n"
        "retrieval(x); const innerHTMLish = 1; el.dataset.evaluate = 1;\n"
    )
    assert find_sinks(code) == []
