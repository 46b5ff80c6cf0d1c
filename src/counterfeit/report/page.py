"""One run on one page: header and status, the sample grids with a step slider and the progress
GIF, interactive training curves, the final evaluation and the resolved config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from counterfeit.config import ConfigError, preset_description, resolve, to_dict
from counterfeit.errors import UserError
from counterfeit.metrics.registry import METRICS, MNIST_ALIASES
from counterfeit.report.charts import RunCurves, bar_chart, curve, run_charts
from counterfeit.report.html import axis_switch, chart_divs, esc, image, number, page, table, write_page
from counterfeit.report.rundata import Picture, RunData, read_run
from counterfeit.report.status import Status, run_status
from counterfeit.rundir import CONFIG_FILE, METRICS_FILE, REPORT_FILE, has_run_files

MAX_GRIDS = 100  # more grids than a slider can show: every k-th is kept (the last always), bounding the page
DIGITS = list(range(10))


def write_report(run_dir: str | Path, out: str | Path | None = None, running: bool | None = None) -> Path:
    """report.html of a run (or `out`); `running`: the training process's own word on its state
    (None: judged from the run's lock). Returns the page's path."""
    path = Path(run_dir)
    if not path.exists():
        raise UserError(f"{path}: no such run directory")
    if not path.is_dir():
        raise UserError(f"{path}: not a directory (a report is made of a run directory)")
    if not has_run_files(path):  # else its report.html, if any, would be replaced by a page about nothing
        raise UserError(f"{path}: not a run directory (none of a run's files: {CONFIG_FILE}, {METRICS_FILE}, ...)")
    target = Path(out) if out is not None else path / REPORT_FILE
    write_page(target, build_report(read_run(path), running))
    return target


def build_report(data: RunData, running: bool | None = None) -> str:
    status = run_status(data, running)
    floor = run_floor(data)
    charts = [c.to_json() for c in run_charts(RunCurves(data.name, data.losses, data.evals, floor, data.signals))]
    bars = _accuracy_bars(data)
    body = "\n".join([
        _header(data, status),
        _problems(data),
        _pictures(data),
        "<h2>Training</h2>", _charts(charts), _warnings(data),
        _evaluation(data, bars),
        _config(data),
    ])
    return page(f"{data.name}: counterfeit report", body, charts + ([bars] if bars else []))


def _charts(charts: list[dict[str, Any]]) -> str:
    if not charts:
        return '<p class="none">No step logged yet.</p>'
    return axis_switch(charts) + chart_divs(charts)


def run_floor(data: RunData) -> dict[str, float]:
    """The in-training evaluations record their floor; runs from before that use eval.json's."""
    for record in reversed(data.evals):
        if isinstance(record.get("floor"), dict):
            return record["floor"]
    if data.evaluation and isinstance(data.evaluation.get("floor"), dict) and data.evals \
            and data.evaluation.get("n") == data.evals[-1].get("eval_n"):
        return data.evaluation["floor"]
    return {}


# -- header ----------------------------------------------------------------------------------


def model_line(config: dict[str, Any]) -> str:
    """The networks in one line, from the resolved config."""
    get = config.get
    z = f"z({get('z_dim')}) ~ {get('prior')}"
    conditional = get("model") in ("cmlp", "cdcgan")
    label = " + one-hot digit" if conditional else ""
    channels = get("channels") or 1  # a run recorded before the key: grey
    if get("model") in ("dcgan", "cdcgan"):
        g, d = get("g_hidden") or [0, 0], get("d_hidden") or [0, 0]
        nets = (f"G: {z}{label} → Linear → {g[0]}×7×7 → ConvT → {g[-1]}×14×14 → ConvT → {channels}×28×28 {get('g_output')}; "
                f"D: Conv → {d[0]}×14×14 → Conv → {d[-1]}×7×7 → logit")
    else:
        nets = (f"G: {z}{label} → {_widths(get('g_hidden'))} → {784 * channels} {get('g_output')}; "
                f"D: {784 * channels}{label} → {_widths(get('d_hidden'))} → 1 logit")
    return (f"{get('model')}: {nets}; {get('loss')} loss; Adam lr G {number(get('lr_g'))}, D {number(get('lr_d'))}; "
            f"batch {get('batch_size')}")


def _widths(layers: Any) -> str:
    return " → ".join(str(width) for width in layers or [])


def _header(data: RunData, status: Status) -> str:
    config, info = data.config, data.run_info
    preset = config.get("preset", "?")
    try:
        description = preset_description(preset) if data.is_run else ""
    except ConfigError:
        description = "(a preset this version does not know)"
    last = data.losses[-1] if data.losses else {}
    facts = [("status", esc(status.full))]
    if data.is_run:
        planned = data.planned_steps
        facts += [
            ("preset", f"<b>{esc(preset)}</b>: {esc(description)}"),
            ("model", esc(model_line(config))),
            ("steps", f"{data.reached_step:,}" + (f" of {planned:,}" if planned else "")),
            ("images seen", f"{last['images_seen']:,} ({last.get('epoch', '?')} epochs)" if "images_seen" in last
             else "none yet"),
            ("wall-clock", _duration(last["seconds"]) if "seconds" in last else "none yet"),
            ("data", esc(f"{info.get('data_source', config.get('data', '?'))}: {number(info.get('data_images', '?'))} "
                         "images")),
            ("machine", esc(f"{info.get('device', '?')}, {info.get('processes', 1)} process(es), "
                            f"{info.get('torch_threads', '?')} torch threads; {info.get('platform', '?')}")),
            ("libraries", esc(", ".join(f"{name} {info[name]}" for name in ("counterfeit", "python", "torch", "numpy")
                                        if name in info))),
            ("started", esc(info.get("created", "?"))),
        ]
    facts.append(("directory", f"<code>{esc(data.path.resolve())}</code>"))
    rows = "".join(f"<tr><th>{name}</th><td>{value}</td></tr>" for name, value in facts)
    kind = status.kind.replace(" ", "-")
    return (f'<h1>{esc(data.name)} <span class="status status-{kind}" id="status">{esc(status.kind)}</span></h1>'
            f'<table class="facts">{rows}</table>')


def _duration(seconds: float) -> str:
    s = round(seconds)
    hours, rest = divmod(s, 3600)
    return (f"{hours} h {rest // 60} min {rest % 60} s" if hours else f"{rest // 60} min {rest % 60} s") \
        + f" ({seconds:,.1f} s)"


def _problems(data: RunData) -> str:
    if not data.problems:
        return ""
    items = "".join(f"<li>{esc(p)}</li>" for p in data.problems)
    return f'<div class="problems" id="problems"><b>Missing or damaged</b> (the page shows what is there):<ul>{items}</ul></div>'


# -- pictures --------------------------------------------------------------------------------


def _pictures(data: RunData) -> str:
    parts = ['<h2>Samples</h2><div class="row">']
    grids = _shown_grids(data)
    if grids:
        figures = "".join(
            f'<figure data-label="step {g.step:,} ({esc(g.name)})">{image(g, "grid", f"samples at step {g.step}")}</figure>'
            for g in grids)
        note = f" ({len(grids)} of {len(data.grids)} grids shown)" if len(grids) < len(data.grids) else ""
        parts.append(f'<div><label for="grid-slider">The same fixed noise at each step{note}: '
                     f'<b id="grid-step"></b></label><br>'
                     f'<input type="range" id="grid-slider" min="0" max="{len(grids) - 1}" value="{len(grids) - 1}">'
                     f'<div id="grids">{figures}</div></div>')
    else:
        parts.append('<p class="none">No sample grids yet.</p>')
    if data.gif is not None:
        parts.append(f'<figure>{image(data.gif, "gif", "progress.gif")}<figcaption>progress.gif: every frame of '
                     f'the same noise</figcaption></figure>')
    elif data.is_run:
        parts.append('<p class="hint">progress.gif is written when the run ends.</p>')
    parts.append("</div>")
    return "".join(parts)


def _shown_grids(data: RunData) -> list[Picture]:
    grids = data.grids
    if len(grids) <= MAX_GRIDS:
        return grids
    stride = -(-len(grids) // MAX_GRIDS)
    return grids[::stride] + ([grids[-1]] if (len(grids) - 1) % stride else [])


def _warnings(data: RunData) -> str:
    if not data.signals:
        return ""
    items = "".join(f"<li>step {s['step']:,}: {esc(s['collapse'])}: {esc(s.get('message', ''))}</li>"
                    for s in data.signals)
    return f'<p>Collapse warnings (the dashed red lines):</p><ul class="warnings" id="warnings">{items}</ul>'


# -- evaluation ------------------------------------------------------------------------------


def _evaluation(data: RunData, bars: dict[str, Any] | None) -> str:
    head = "<h2>Final evaluation</h2>"
    evaluation = data.evaluation
    if evaluation is None:
        return head + (f'<p class="none">No eval.json: run <code>counterfeit eval {esc(data.path)}</code>, then '
                       f'<code>counterfeit report {esc(data.path)}</code>.</p>')
    floor = evaluation.get("floor") or {}
    judge = evaluation.get("evaluator") or {}  # eval.json written before evaluators per dataset: MNIST's
    data_label, classes = judge.get("label", "MNIST"), judge.get("num_classes", 10)
    labels = {k: METRICS[k].label_for(data_label, classes) for k in evaluation["metrics"] if k in METRICS}
    rows = [[esc(labels[k][0].strip() if k in labels else k), f'<td class="num">{number(v)}</td>',
             f'<td class="num">{number(floor[k]) if k in floor else "–"}</td>',
             esc(labels[k][1] if k in labels else "")]
            for k, v in evaluation["metrics"].items()
            if MNIST_ALIASES.get(k) not in evaluation["metrics"]]  # an old key beside its new name: once
    if "modes_covered" in evaluation["metrics"]:  # stacked-mnist: modes against uniform, no reference images
        intro = (f"<p>{esc(evaluation.get('n', '?'))} samples of the final generator, each channel read as a digit "
                 f"(data: {esc(evaluation.get('data', '?'))}); floor: {esc(evaluation.get('n_floor', '?'))} fresh "
                 "real stacked images. FID and the other metrics of grey images are not computed.</p>")
    else:
        intro = (f"<p>{esc(evaluation.get('n', '?'))} samples of the final generator against "
                 f"{esc(evaluation.get('n_reference', '?'))} reference images of {esc(evaluation.get('data', '?'))}; "
                 f"floor: {esc(evaluation.get('n_floor', '?'))} held-out real images against the same reference.</p>")
    parts = [head, intro, table(["metric", "value", "real floor", "better"], rows, "evaluation")]
    if bars is not None:
        grid = data.grids[-1] if data.grids else None
        beside = (f'<figure>{image(grid, "grid", "class grid")}<figcaption>class grid at step {grid.step:,}: '
                  f'row d asks for digit d</figcaption></figure>') if grid else ""
        parts.append(f'<h3>Per digit</h3><div class="row"><div class="chart" id="{bars["id"]}" '
                     f'style="width:520px"></div>{beside}</div>')
    return "".join(parts)


def _accuracy_bars(data: RunData) -> dict[str, Any] | None:
    conditional = (data.evaluation or {}).get("conditional")
    if not isinstance(conditional, dict) or not isinstance(conditional.get("cond_accuracy_per_class"), list):
        return None
    values = conditional["cond_accuracy_per_class"]
    floor = (conditional.get("floor") or {}).get("cond_accuracy_per_class")
    bars = curve("accuracy (asked for digit d, read as d)", 0, list(zip(DIGITS, values)), None)
    dots = curve("real floor (held-out digits)", 3, list(zip(DIGITS, floor)), None) if isinstance(floor, list) else None
    return bar_chart("per-digit", f"per-digit accuracy over {conditional.get('n_per_class', '?')} samples each",
                     bars, dots)


# -- config ----------------------------------------------------------------------------------


def preset_defaults(preset: Any) -> dict[str, Any] | None:
    """The preset's values as config.toml writes them (lists for tuples); None for an unknown preset."""
    try:
        defaults = to_dict(resolve(preset=str(preset)))
    except ConfigError:
        return None
    return {k: list(v) if isinstance(v, tuple) else v for k, v in defaults.items()}


def _config(data: RunData) -> str:
    if not data.is_run:
        return ""
    defaults = preset_defaults(data.config.get("preset")) or {}
    rows, classes = [], []
    for key, value in data.config.items():
        differs = key in defaults and key != "preset" and defaults[key] != value
        rows.append([f"<code>{esc(key)}</code>", f"<code>{esc(number(value))}</code>",
                     f"<code>{esc(number(defaults[key]))}</code>" if differs else ""])
        classes.append("differs" if differs else "")
    note = (f"Keys that differ from the preset <b>{esc(data.config.get('preset'))}</b>'s defaults are highlighted."
            if defaults else "The preset is unknown to this version: no defaults to compare with.")
    run_rows = [[f"<code>{esc(k)}</code>", f"<code>{esc(number(v))}</code>"] for k, v in data.run_info.items()]
    return ("<h2>Config</h2>" + f"<p>{note}</p>"
            + table(["key", "value", "preset default"], rows, "config", classes)
            + "<h3>[run]</h3>" + table(["key", "value"], run_rows, "run-info"))
