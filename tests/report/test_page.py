"""`counterfeit report`: one self-contained page, what it shows, and bad input."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Callable

import pytest

from counterfeit.cli import main
from counterfeit.errors import UserError
from counterfeit.report import build_report, write_report
from counterfeit.report.page import model_line, preset_defaults
from counterfeit.report.rundata import read_run
from counterfeit.report.status import run_status

Hashes = Callable[[Path], dict[str, str]]
OneLineError = Callable[[list[str], str], None]


def test_report_changes_nothing_in_the_run_but_report_html(finished_run: Path, tmp_path: Path, tree_hashes: Hashes,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    run = Path(shutil.copytree(finished_run, tmp_path / "run"))
    (run / "report.html").unlink()
    before = tree_hashes(run)
    assert main(["report", str(run)]) == 0
    assert capsys.readouterr().out == f"{run / 'report.html'}\n"
    after = tree_hashes(run)
    assert set(after) - set(before) == {"report.html"}
    assert {k: v for k, v in after.items() if k != "report.html"} == before
    elsewhere = tmp_path / "elsewhere.html"
    assert main(["report", str(run), "--out", str(elsewhere)]) == 0
    assert tree_hashes(run) == after and elsewhere.stat().st_size > 0


def test_the_page_needs_nothing_outside_itself(finished_run: Path) -> None:
    text = build_report(read_run(finished_run))
    sources = re.findall(r'(?:src|href)="([^"]*)"', text)
    assert sources and all(s.startswith("data:image/") for s in sources), [s[:40] for s in sources]
    assert "<link" not in text and "<script src" not in text and "@import" not in text
    assert text.count("<img ") == 4  # three grids and the GIF
    assert "uPlot 1.6.32" in text


def test_a_damaged_run_still_has_a_page_that_names_what_is_missing(finished_run: Path, tmp_path: Path) -> None:
    run = Path(shutil.copytree(finished_run, tmp_path / "run"))
    (run / "samples" / "step_000025.png").unlink()
    (run / "progress.gif").unlink()
    with open(run / "metrics.jsonl", "a", encoding="utf-8") as handle:
        handle.write('{"step": 5')
    text = write_report(run).read_text("utf-8")
    problems = text[text.index('id="problems"'):text.index("</ul>", text.index('id="problems"'))]
    for phrase in ("samples/step_000025.png is missing", "progress.gif is missing", "its last line is cut short"):
        assert phrase in problems
    assert text.count("<img ") == 2  # the grids that are there


def test_a_folder_that_lost_its_config_gets_a_page_saying_so(finished_run: Path, tmp_path: Path) -> None:
    shutil.copy(finished_run / "metrics.jsonl", tmp_path / "metrics.jsonl")
    text = write_report(tmp_path).read_text("utf-8")
    assert "not a run directory" in text and 'class="status status-not-a-run"' in text


def test_a_folder_with_nothing_of_a_run_is_refused_and_its_page_kept(tmp_path: Path) -> None:
    (tmp_path / "report.html").write_text("<h1>mine</h1>")  # someone's page: not replaced
    with pytest.raises(UserError, match="not a run directory"):
        write_report(tmp_path)
    assert (tmp_path / "report.html").read_text() == "<h1>mine</h1>"


def test_bad_input_is_one_line(finished_run: Path, tmp_path: Path, tree_hashes: Hashes,
                               one_line_error: OneLineError) -> None:
    one_line_error(["report", str(tmp_path / "nowhere")], "nowhere: no such run directory")
    (tmp_path / "file.txt").write_text("x")
    one_line_error(["report", str(tmp_path / "file.txt")], "file.txt: not a directory")
    before = tree_hashes(finished_run)
    one_line_error(["report", str(finished_run), "--out", str(tmp_path / "no" / "r.html")],
                   "the folder " + str(tmp_path / "no") + " does not exist")
    one_line_error(["report", str(finished_run), "--out", str(tmp_path / "r.txt")], "expected an .html file")
    one_line_error(["report", str(finished_run), "--out", str(tmp_path)], "is a directory")
    assert tree_hashes(finished_run) == before


def test_config_keys_differing_from_the_preset_are_highlighted(finished_run: Path) -> None:
    text = build_report(read_run(finished_run))
    rows = re.findall(r'<tr class="differs"><td><code>([a-z_]+)</code></td><td><code>([^<]*)</code></td>'
                      r"<td><code>([^<]*)</code>", text)
    assert rows == [("eval_every", "25", "0")]
    assert preset_defaults("no-such-preset") is None


def test_the_model_line() -> None:
    mlp = {"model": "mlp", "z_dim": 128, "prior": "uniform", "g_hidden": [256], "d_hidden": [128],
           "g_output": "sigmoid", "loss": "nonsaturating", "lr_g": 1e-4, "lr_d": 5e-4, "batch_size": 256}
    assert model_line(mlp) == ("mlp: G: z(128) ~ uniform → 256 → 784 sigmoid; D: 784 → 128 → 1 logit; "
                               "nonsaturating loss; Adam lr G 0.0001, D 0.0005; batch 256")
    cdcgan = {**mlp, "model": "cdcgan", "z_dim": 64, "prior": "normal", "g_hidden": [128, 64], "d_hidden": [64, 128],
              "g_output": "tanh"}
    assert model_line(cdcgan).startswith("cdcgan: G: z(64) ~ normal + one-hot digit → Linear → 128×7×7 → ConvT → "
                                         "64×14×14 → ConvT → 1×28×28 tanh; D: Conv → 64×14×14 → Conv → 128×7×7 → logit")


def shown_status(run: Path) -> str:
    text = (run / "report.html").read_text("utf-8")
    return text.split('id="status">')[1].split("<")[0]


def test_a_run_stopped_with_ctrl_c_says_stopped(running_run: tuple[Path, Path]) -> None:
    run, mid_run_page = running_run
    assert shown_status(run) == "stopped"  # written by the loop as it stopped
    data = read_run(run)
    assert run_status(data).text == f"stopped at step {data.checkpoint_steps[-1]:,} of 1,000,000"
    assert 'id="status">running<' in mid_run_page.read_text("utf-8")


def test_a_finished_run_says_finished(finished_run: Path) -> None:
    assert shown_status(finished_run) == "finished"
