"""`counterfeit compare`: which runs, the best of each row, the terminal table, bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Callable

import pytest

from counterfeit.cli import main
from counterfeit.errors import UserError
from counterfeit.report.compare import best, compare, find_runs, terminal_table, write_comparison

Hashes = Callable[[Path], dict[str, str]]
OneLineError = Callable[[list[str], str], None]


def fake_run(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "config.toml").write_text('preset = "tiny"\n')
    return path


def test_an_experiment_directory_holds_runs_up_to_two_levels_down(tmp_path: Path) -> None:
    experiment = tmp_path / "sweep"
    a, b = fake_run(experiment / "a"), fake_run(experiment / "lr" / "b")
    fake_run(experiment / "deep" / "er" / "c")  # three levels: not part of it
    (experiment / "notes").mkdir()
    lone = fake_run(tmp_path / "lone")
    assert find_runs([experiment]) == [a, b]
    assert find_runs([lone, experiment, a]) == [lone, a, b]  # each run once


def test_fewer_than_two_runs_or_none_at_all(tmp_path: Path) -> None:
    one = fake_run(tmp_path / "one")
    with pytest.raises(UserError, match=r"compare needs at least two runs; .*one holds 1"):
        find_runs([one])
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="empty: not a run directory .* and holds none 2 levels down"):
        find_runs([one, tmp_path / "empty"])
    with pytest.raises(UserError, match="nowhere: no such directory"):
        find_runs([one, tmp_path / "nowhere"])


def test_the_best_of_a_row_follows_which_way_is_better() -> None:
    assert best("fid", [80.0, 43.8, None]) == {1}
    assert best("recall", [0.23, 0.45, 0.1]) == {1}
    assert best("memorisation", [1.05, 0.48, 0.97]) == {2}  # closest to 1
    assert best("classes_covered", [10, 10, 7]) == {0, 1}  # ties all marked
    assert best("precision", [0.58, 0.58000001]) == {0, 1}  # equal as shown
    assert best("cond_accuracy", [0.94, 0.99]) == {1}
    assert best("kid_std", [0.1, 0.2]) == set()  # no better direction
    assert best("fid", [80.0, None]) == set()  # one value: nothing to compare


def test_an_old_metric_name_is_one_row_under_its_new_name() -> None:
    from counterfeit.report.compare import _current_names

    # an eval.json of today keeps mnist_score beside classifier_score; an older one has only mnist_score
    assert _current_names({"mnist_score": 9.1, "classifier_score": 9.1, "fid": 3.0}) == {"classifier_score": 9.1, "fid": 3.0}
    assert _current_names({"mnist_score": 8.7, "fid": 4.0}) == {"classifier_score": 8.7, "fid": 4.0}


@pytest.fixture
def unjudged_run(tiny_run: Path, tmp_path: Path) -> Path:
    """tiny_run as trained: no in-training evaluation, and no eval.json (which other tests may add)."""
    run = Path(shutil.copytree(tiny_run, tmp_path / "tiny"))
    (run / "eval.json").unlink(missing_ok=True)
    return run


def test_runs_of_other_presets_lengths_and_data_compare(finished_run: Path, conditional_run: Path,
                                                        unjudged_run: Path) -> None:
    comparison = compare([finished_run, conditional_run, unjudged_run])
    differing = dict(comparison.config)
    assert differing["preset"] == ["tiny", "cgan", "tiny"] and differing["steps"] == ["50", "6", "50"]
    assert "seed" not in differing and "data" not in differing
    assert comparison.sources == ["eval.json (500 samples)", "eval.json (500 samples)", "no metrics"]
    rows = {key: (values, winners) for key, values, winners in comparison.metrics}
    assert rows["fid"][0][2] is None and rows["cond_accuracy"][0][0] is None
    assert rows["fid"][1] == {min((0, 1), key=lambda i: rows["fid"][0][i])}


def test_the_api_takes_paths_as_strings_as_the_readme_shows(finished_run: Path, unjudged_run: Path,
                                                              tmp_path: Path) -> None:
    comparison = write_comparison([str(finished_run), str(unjudged_run)], str(tmp_path / "c.html"))  # was AttributeError
    assert len(comparison.runs) == 2 and (tmp_path / "c.html").is_file()


def test_cli_prints_the_table_and_writes_the_page(finished_run: Path, conditional_run: Path, unjudged_run: Path,
                                                  tmp_path: Path, tree_hashes: Hashes,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    runs = [finished_run, conditional_run, unjudged_run]
    before = [tree_hashes(run) for run in runs]
    out = tmp_path / "three.html"
    capsys.readouterr()
    assert main(["compare", *map(str, runs), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.endswith(f"\n\n{out}\n")
    assert [tree_hashes(run) for run in runs] == before  # compare writes nothing into a run
    table = printed.split("\n\n")[0]
    assert table == terminal_table(compare(runs))
    lines = table.splitlines()
    assert lines[0].split() == ["run", "tiny-eval", "cgan-tiny", "tiny"]
    html = out.read_text("utf-8")
    assert table.count(" *") == html.count(" ★") > 0  # the same best values marked on both
    fid_line = next(line for line in lines if line.strip().startswith("fid "))
    assert fid_line.split()[-1] == "–"  # the run without metrics
    assert '<td class="none">no metrics</td>' in html


def test_runs_measured_differently_are_shown_but_not_ranked(finished_run: Path, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    in_training = Path(shutil.copytree(finished_run, tmp_path / "in-training"))
    (in_training / "eval.json").unlink()  # its metrics: the last in-training eval's
    comparison = compare([finished_run, in_training])
    assert comparison.sources[1].startswith("in-training eval at step")
    assert all(winners == set() for _, _, winners in comparison.metrics)
    assert comparison.not_ranked is not None and "1 by eval.json, 500 samples" in comparison.not_ranked
    out = tmp_path / "two.html"
    assert main(["compare", str(finished_run), str(in_training), "--out", str(out)]) == 0
    table = capsys.readouterr().out.split("\n\n")[0]
    assert " *" not in table and table.splitlines()[-1] == f"note: {comparison.not_ranked}"
    html = out.read_text("utf-8")
    assert " ★" not in html and "not-ranked" in html and "measured differently" in html


def test_another_sample_count_is_another_measurement(finished_run: Path, tmp_path: Path) -> None:
    rejudged = Path(shutil.copytree(finished_run, tmp_path / "rejudged"))
    record = json.loads((rejudged / "eval.json").read_text())
    (rejudged / "eval.json").write_text(json.dumps({**record, "n": 10000}))
    assert "10000 samples" in compare([finished_run, rejudged]).not_ranked
    alike = Path(shutil.copytree(finished_run, tmp_path / "alike"))
    comparison = compare([finished_run, alike])  # measured alike: ranked, ties all marked
    assert comparison.not_ranked is None and any(winners == {0, 1} for _, _, winners in comparison.metrics)


def test_cli_bad_input(tiny_run: Path, tmp_path: Path, one_line_error: OneLineError) -> None:
    one_line_error(["compare", str(tiny_run)], "compare needs at least two runs")
    one_line_error(["compare", str(tiny_run), str(tmp_path / "nowhere")], "nowhere: no such directory")
    one_line_error(["compare", str(tiny_run), str(tiny_run.parent), "--out", str(tmp_path)], "is a directory")
    assert not list(tmp_path.iterdir())
