"""Reading a run directory for display: whatever is there, a line for whatever is not, and the
run's status from its files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from counterfeit.report.rundata import read_run
from counterfeit.report.status import Status, run_status
from counterfeit.rundir import run_lock


def copy_run(run: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(run, tmp_path / run.name))


def test_a_finished_run_reads_whole(tiny_run: Path) -> None:
    data = read_run(tiny_run)
    assert data.problems == []
    assert [r["step"] for r in data.losses] == [1, 10, 20, 30, 40, 50]
    assert [g.step for g in data.grids] == [0, 25, 50] and data.gif is not None
    assert data.config["preset"] == "tiny" and data.run_info["device"] == "cpu"
    assert data.checkpoint_steps == [20, 40, 50] and data.final_weights and not data.locked
    assert run_status(data) == Status("finished", "finished: 50 steps")


def test_a_last_line_cut_short_is_left_out_and_named(tiny_run: Path, tmp_path: Path) -> None:
    run = copy_run(tiny_run, tmp_path)
    with open(run / "metrics.jsonl", "a", encoding="utf-8") as handle:
        handle.write('{"step": 60, "d_lo')  # a run killed while writing its line
    data = read_run(run)
    assert [r["step"] for r in data.losses] == [1, 10, 20, 30, 40, 50]
    assert data.problems == ["metrics.jsonl: its last line is cut short (a run killed while writing it); "
                             "the line is left out"]


def test_a_damaged_line_inside_is_named_by_number(tiny_run: Path, tmp_path: Path) -> None:
    run = copy_run(tiny_run, tmp_path)
    lines = (run / "metrics.jsonl").read_text("utf-8").splitlines()
    (run / "metrics.jsonl").write_text("\n".join([lines[0], "[1, 2]", *lines[1:]]) + "\n", "utf-8")
    data = read_run(run)
    assert len(data.losses) == 6
    assert data.problems == ["metrics.jsonl: line 2 is not a JSON object; the line is left out"]


def test_missing_and_damaged_images_are_named(tiny_run: Path, tmp_path: Path) -> None:
    run = copy_run(tiny_run, tmp_path)
    (run / "samples" / "step_000025.png").unlink()
    (run / "samples" / "step_000050.png").write_bytes(b"\x89PNG\r\n\x1a\n cut short")
    (run / "progress.gif").unlink()
    data = read_run(run)
    assert [g.step for g in data.grids] == [0] and data.gif is None
    assert data.problems[0].startswith("samples/step_000050.png cannot be read (")
    assert data.problems[1:] == ["samples/step_000025.png is missing", "progress.gif is missing"]


def test_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    data = read_run(tmp_path)
    assert not data.is_run and data.losses == [] and data.grids == []
    assert data.problems == [f"no config.toml: {tmp_path} is not a run directory (or its run never started)"]
    assert run_status(data).kind == "not a run"


def test_an_unreadable_config_is_named(tiny_run: Path, tmp_path: Path) -> None:
    run = copy_run(tiny_run, tmp_path)
    (run / "config.toml").write_text("steps = = 3\n")
    data = read_run(run)
    assert data.problems[0].startswith("config.toml cannot be read (")
    assert data.losses and run_status(data).kind == "not a run"


def test_stopped_running_and_the_loops_own_word(tiny_run: Path, tmp_path: Path) -> None:
    run = copy_run(tiny_run, tmp_path)
    (run / "generator.safetensors").unlink()  # as before the end: no final weights
    config = run / "config.toml"
    config.write_text(config.read_text("utf-8").replace("steps = 50\n", "steps = 100\n"), "utf-8")
    assert run_status(read_run(run)) == Status(
        "stopped", "stopped at step 50 of 100", f"last checkpoint at step 50; continue with: "
                                                f"counterfeit train --resume {run}")
    with run_lock(run):  # as the training process holds it
        data = read_run(run)
        assert data.locked
        assert run_status(data) == Status("running", "running: step 50 of 100")
        assert run_status(data, running=False).kind == "stopped"  # the loop's word: it is stopping


def test_a_run_of_several_processes_is_told_to_resume_with_as_many(tiny_run: Path, tmp_path: Path) -> None:
    run = copy_run(tiny_run, tmp_path)
    (run / "generator.safetensors").unlink()
    config = run / "config.toml"
    text = config.read_text("utf-8").replace("steps = 50\n", "steps = 100\n")
    config.write_text(text.replace("processes = 1\n", "processes = 2\n"), "utf-8")  # as under torchrun
    assert run_status(read_run(run)).detail == (  # was plain `counterfeit train --resume`, which a resume refuses
        f"last checkpoint at step 50; continue with: torchrun --nproc_per_node 2 -m counterfeit train --resume {run}")


def test_a_run_that_spent_its_time_budget_finished(tiny_run: Path, tmp_path: Path) -> None:
    run = copy_run(tiny_run, tmp_path)
    config = run / "config.toml"
    text = config.read_text("utf-8").replace("steps = 50\n", "steps = 100\n")
    config.write_text(text.replace("max_seconds = 0.0\n", "max_seconds = 0.001\n"), "utf-8")
    status = run_status(read_run(run))
    assert status == Status("finished", "finished: 50 steps", "its max_seconds budget (0.001 s) was spent")


def test_a_stop_between_log_steps_is_reported_at_its_checkpoint(tiny_run: Path, tmp_path: Path) -> None:
    run = copy_run(tiny_run, tmp_path)
    (run / "generator.safetensors").unlink()
    lines = (run / "metrics.jsonl").read_text("utf-8").splitlines()
    (run / "metrics.jsonl").write_text("\n".join(lines[:-1]) + "\n", "utf-8")  # logged to 40, checkpointed at 50
    config = run / "config.toml"
    config.write_text(config.read_text("utf-8").replace("steps = 50\n", "steps = 100\n"), "utf-8")
    assert run_status(read_run(run)).text == "stopped at step 50 of 100"


def test_a_failure_record_until_a_resume_goes_past_it(tiny_run: Path, tmp_path: Path) -> None:
    run = copy_run(tiny_run, tmp_path)
    metrics = run / "metrics.jsonl"
    with open(metrics, "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"step": 50, "failed": "a loss became NaN or Inf by step 50"}) + "\n")
    status = run_status(read_run(run))
    assert status == Status("failed", "failed at step 50", "a loss became NaN or Inf by step 50")
    assert status.full == "failed at step 50: a loss became NaN or Inf by step 50"
    with open(metrics, "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"step": 60, "d_loss": 1.0, "g_loss": 1.0, "d_real": 0.5, "d_fake": 0.5}) + "\n")
    assert read_run(run).failure is None
