"""A profile in JupyterLab: ``p.view()`` colours the graph by latency, and its legend matches the
table (``p.authored``) the overlay comes from. Saves the docs' screenshot."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

if TYPE_CHECKING:
    from playwright.sync_api import Locator

    from tests.ui.conftest import LabPage, Notebook

LABEL = "latency (µs)"
CELLS = [
    "import json, workbench as wb\n"
    "m = wb.samples.open('tiny_bert')\n"
    "p = wb.profile(m, runs=3, warmup=1, dims={'batch': 1, 'sequence': 16})",
    "v = p.view()\nv",
    # What the legend should say, from the overlay the widget holds (groups included, the root
    # never is), and the table it was made from.
    "values = v.overlay['values']\n"
    "slowest, coldest = p.authored.idxmax(), p.authored.idxmin()\n"
    "print(json.dumps({'label': v.overlay['label'], 'min': min(values.values()), 'max': max(values.values()),\n"
    "                  'table_min': float(p.authored.min()), 'table_max': float(p.authored.max()),\n"
    "                  'slowest': slowest, 'coldest': coldest}))",
    # One message: the groups around both nodes open, and the view pans to the slowest.
    "with v.hold_sync():\n    v.reveal(coldest)\n    v.reveal(slowest)",
]
PROFILE_CELL, VIEW_CELL, EXPECTED_CELL, REVEAL_CELL = range(len(CELLS))

NOTEBOOK = "profile.ipynb"  # opened by the `notebook` fixture (tests/ui/conftest.py)


def test_profile_view_colours_nodes_by_latency_and_its_legend_matches_the_table(
    lab_page: LabPage, notebook: Notebook
) -> None:
    """The legend reads "latency (µs)" from the smallest to the largest value of the overlay,
    which is the largest of ``p.authored``; the slowest node is coloured, unlike the fastest."""
    notebook.run(PROFILE_CELL)
    viewer = notebook.show(VIEW_CELL)
    legend = viewer.part("legend")
    expect(legend).to_be_visible()
    expect(legend.locator(".jp-OnnxWorkbench-legendLabel")).to_have_text(LABEL)

    notebook.run(EXPECTED_CELL)
    output = notebook.output(EXPECTED_CELL)
    expect(output).to_contain_text('"coldest"')
    expected = json.loads(output.inner_text())
    assert expected["label"] == LABEL
    # With the groups at their slowest node, the overlay spans exactly the table's values.
    assert expected["max"] == expected["table_max"]
    assert expected["min"] == expected["table_min"]
    assert expected["min"] < expected["max"], f"every node took {expected['max']} µs"
    ends = legend.locator(".jp-OnnxWorkbench-legendEnds > span")
    expect(ends).to_have_text([js_fmt(expected["min"]), js_fmt(expected["max"])])
    expect(ends.nth(1)).to_have_text(js_fmt(expected["table_max"]))  # the legend matches the table

    with viewer.relayout():
        notebook.run(REVEAL_CELL)
    slowest, coldest = viewer.node(expected["slowest"]), viewer.node(expected["coldest"])
    for node in (slowest, coldest):
        expect(node).to_have_class(viewer.state("overlaid"))
    hot, cold = fill(slowest), fill(coldest)
    assert hot != cold, f"{expected['slowest']} and {expected['coldest']} are both filled {hot}"
    lab_page.screenshot("profile.png", notebook.cells.nth(VIEW_CELL))
    lab_page.assert_no_errors()


@pytest.mark.parametrize(
    ("value", "text"),
    [  # what Chromium's JavaScript writes for each
        (10.0, "10"),
        (0.038461538461538464, "0.0385"),
        (5.5, "5.50"),
        (123.456, "123"),
        (1.125, "1.13"),
        (2.675, "2.67"),
        (0.0001234, "0.000123"),
        (1e-7, "1.00e-7"),
        (999.95, "1.00e+3"),
        (1234.5678, "1,234.568"),
        (1234.5, "1,234.5"),
        (1000.0015, "1,000.002"),
        (-2.5, "-2.50"),
        (1e21, "1,000,000,000,000,000,000,000"),
    ],
)
def test_js_fmt_writes_numbers_as_the_legend_does(value: float, text: str) -> None:
    assert js_fmt(value) == text


def js_fmt(n: float) -> str:
    """``n`` as the legend's ``fmt`` writes it (extension/src/view/viewer.ts, ``renderLegend``):
    ``n.toLocaleString('en-US')`` for integers and |n| ≥ 1000, else ``n.toPrecision(3)``."""
    if n.is_integer() or abs(n) >= 1000:
        return _to_locale_string(n)
    return _to_precision(n, 3)


def _to_locale_string(n: float) -> str:
    """JavaScript's ``n.toLocaleString('en-US')``: thousands separated by commas, at most three
    decimals, ties away from zero (V8 rounds the shortest decimal that reads back as ``n``)."""
    with localcontext(Context(prec=400)):
        rounded = Decimal(repr(abs(n))).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)
        text = format(rounded, ",f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return ("-" if n < 0 and text != "0" else "") + text


def _to_precision(n: float, digits: int) -> str:
    """JavaScript's ``n.toPrecision(digits)`` for finite, non-zero ``n``: ``digits`` significant
    digits of the exact binary value, ties up; exponential below 1e-6 or from 10**digits."""
    exact = Decimal(abs(n))
    exponent = exact.adjusted()
    step = Decimal(1).scaleb(1 - digits)
    with localcontext(Context(prec=400)):
        mantissa = exact.scaleb(-exponent).quantize(step, rounding=ROUND_HALF_UP)
        if mantissa >= 10:  # 9.995 → 10.0: one more digit before the point
            exponent += 1
            mantissa = exact.scaleb(-exponent).quantize(step, rounding=ROUND_HALF_UP)
    figures = str(mantissa).replace(".", "")
    sign = "-" if n < 0 else ""
    if exponent < -6 or exponent >= digits:
        head = figures[0] + ("." + figures[1:] if digits > 1 else "")
        return f"{sign}{head}e{'+' if exponent >= 0 else '-'}{abs(exponent)}"
    if exponent >= 0:
        whole, decimals = figures[: exponent + 1], figures[exponent + 1 :]
        return sign + whole + ("." + decimals if decimals else "")
    return f"{sign}0.{'0' * (-exponent - 1)}{figures}"


def fill(node: Locator) -> str:
    """The colour a node's header is filled with, as the browser computes it."""
    header = node.locator(":scope > .jp-OnnxWorkbench-header")
    return header.evaluate("el => getComputedStyle(el).fill")
