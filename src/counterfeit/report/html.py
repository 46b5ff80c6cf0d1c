"""The page around a report: one self-contained HTML file, every script, style and image inside
it (uPlot, vendored at a fixed version, and our own script inlined; images as data URIs), so it
opens from file:// with no network and no server, and still works when moved or mailed."""

from __future__ import annotations

import base64
import html
import json
import time
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Sequence

from counterfeit._version import __version__
from counterfeit.errors import UserError
from counterfeit.fileio import atomic_write_text
from counterfeit.report.rundata import Picture

UPLOT_VERSION = "1.6.32"  # vendor/README.md: where it came from, its checksums


def _asset(*parts: str) -> str:
    return resources.files("counterfeit.report").joinpath(*parts).read_text("utf-8")


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def data_uri(picture: Picture) -> str:
    return f"data:{picture.mime};base64,{base64.b64encode(picture.data).decode('ascii')}"


def image(picture: Picture, css_class: str, alt: str) -> str:
    return f'<img class="{css_class}" src="{data_uri(picture)}" alt="{esc(alt)}">'


def table(header: Sequence[str], rows: Iterable[Sequence[str]], css_id: str = "", row_classes: Sequence[str] = ()) -> str:
    """Cells are HTML already (escape text with esc); a cell starting with '<td' is used whole."""
    head = "".join(f"<th>{cell}</th>" for cell in header)
    body = []
    for i, row in enumerate(rows):
        cells = "".join(cell if cell.startswith("<td") else f"<td>{cell}</td>" for cell in row)
        css = f' class="{row_classes[i]}"' if i < len(row_classes) and row_classes[i] else ""
        body.append(f"<tr{css}>{cells}</tr>")
    ident = f' id="{css_id}"' if css_id else ""
    return f"<table{ident}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def number(value: Any) -> str:
    """A metric or config value as a person reads it: integers whole, floats to 4 significant digits."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return "[" + ", ".join(number(v) for v in value) + "]"
    return str(value)


def chart_divs(charts: Sequence[dict[str, Any]]) -> str:
    return '<div class="charts">' + "".join(f'<div class="chart" id="{esc(c["id"])}"></div>' for c in charts) + "</div>"


def axis_switch(charts: Sequence[dict[str, Any]]) -> str:
    """Step or wall-clock on the x axis, where every chart knows the clock."""
    if not any("seconds" in c["axes"] for c in charts):
        return '<p class="hint">Drag across a chart to zoom, double-click to zoom out; hover shows the values.</p>'
    return ('<fieldset id="x-axis">x axis: <label><input type="radio" name="x-axis" value="step" checked> step</label> '
            '<label><input type="radio" name="x-axis" value="seconds"> wall-clock</label>'
            '<span class="hint"> · drag across a chart to zoom, double-click to zoom out; hover shows the values.'
            '</span></fieldset>')


def page(title: str, body: str, charts: Sequence[dict[str, Any]]) -> str:
    # "</" inside a script element would end it early: JSON escapes it as "<\/".
    payload = json.dumps({"charts": list(charts)}, separators=(",", ":")).replace("</", "<\\/")
    made = time.strftime("%Y-%m-%d %H:%M:%S")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
<style>{_asset("vendor", "uPlot.min.css")}</style>
<style>{_asset("static", "report.css")}</style>
</head>
<body>
{body}
<footer>Written by counterfeit {esc(__version__)} at {made}. Charts: uPlot {UPLOT_VERSION} (MIT licence), inlined.</footer>
<script type="application/json" id="report-data">{payload}</script>
<script>{_asset("vendor", "uPlot.iife.min.js")}</script>
<script>{_asset("static", "report.js")}</script>
</body>
</html>
"""


def write_page(path: Path, text: str) -> None:
    """Atomically; a bad --out (or an unwritable folder) is one line naming it."""
    if path.is_dir():
        raise UserError(f"--out {path}: is a directory; give a file name such as {path / 'report.html'}")
    if path.suffix.lower() not in (".html", ".htm"):
        raise UserError(f"--out {path}: expected an .html file name")
    if not path.parent.is_dir():
        raise UserError(f"--out {path}: the folder {path.parent} does not exist")
    try:
        atomic_write_text(path, text)
    except OSError as err:
        raise UserError(f"{path}: cannot write ({err.strerror or err})") from None
