"""The tiny experiment (2 variants x 2 seeds) end to end: 1 worker, 2 workers, a runner killed
with kill -9 and run again, and Ray: the same summary every time (wall-clock aside)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from counterfeit.cli import main
from counterfeit.experiments import backends, run_experiment, runner
from counterfeit.experiments.execute import RunTask
from counterfeit.experiments.expdir import (CURVES_PNG, EVENTS_FILE, RESULT_AGAIN, RESULT_FILE, SUMMARY_JSON,
                                            SUMMARY_MD, read_events)
from counterfeit.rundir import METRICS_FILE
from counterfeit.train.checkpoint import list_checkpoints

LABELS = ["base/seed-0", "wide/seed-0", "base/seed-1", "wide/seed-1"]
T_975_1 = 12.706204736  # Student's t, 97.5% quantile, 1 degree of freedom (2 seeds)


def quiet(line: str) -> None:
    """The runner's progress lines are for people; the tests read the files."""


def comparable(root: Path) -> Any:
    """summary.json without what depends on the machine's speed (seconds) or on the invocation."""
    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("seconds", "invocations")}
        return [strip(v) for v in value] if isinstance(value, list) else value
    return strip(json.loads((root / SUMMARY_JSON).read_text()))


@pytest.fixture(scope="module")
def experiment_file(tmp_path_factory: pytest.TempPathFactory, tiny_text: str) -> Path:
    path = tmp_path_factory.mktemp("exp") / "tiny.toml"
    path.write_text(tiny_text)
    return path


@pytest.fixture(scope="module")
def one_worker(experiment_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_experiment(experiment_file, out=tmp_path_factory.mktemp("one") / "exp", workers=1, log=quiet)


def test_every_run_is_an_ordinary_run_directory(one_worker: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for label in LABELS:
        run = one_worker / label
        result = json.loads((run / RESULT_FILE).read_text())
        assert result["status"] == "done" and result["steps"] == 20 and result["images_seen"] == 20 * 32
        assert json.loads((run / "eval.json").read_text()) == result["eval"]  # what `counterfeit eval` wrote
        assert (run / "generator.safetensors").is_file() and (run / "metrics.png").is_file()
    markdown = (one_worker / SUMMARY_MD).read_text()
    assert (one_worker / CURVES_PNG).is_file() and "## Against the baseline `base`" in markdown
    # the summary names the floor the runs' evaluations used (stacked data has another: fresh images)
    assert result["eval"]["floor_source"] == "held-out real images against the same reference"
    assert f"floor = the first finished run's, {result['eval']['floor_source']}." in markdown
    assert main(["experiment", "summary", str(one_worker), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads((one_worker / SUMMARY_JSON).read_text())


def test_intervals_match_a_hand_computation(one_worker: Path) -> None:
    fid = {label: json.loads((one_worker / label / "eval.json").read_text())["metrics"]["fid"] for label in LABELS}
    summary = json.loads((one_worker / SUMMARY_JSON).read_text())
    base = summary["variants"][0]["metrics"]["fid"]
    a, b = fid["base/seed-0"], fid["base/seed-1"]
    # two values: mean (a + b) / 2, sd |a - b| / sqrt(2), standard error sd / sqrt(2) = |a - b| / 2
    assert base["values"] == [a, b] and base["mean"] == pytest.approx((a + b) / 2)
    assert base["high"] - base["mean"] == pytest.approx(T_975_1 * abs(a - b) / 2, rel=1e-9)
    assert base["floor"] == json.loads((one_worker / "base/seed-0/eval.json").read_text())["floor"]["fid"]
    d0, d1 = fid["wide/seed-0"] - a, fid["wide/seed-1"] - b  # paired on seeds
    difference = summary["comparisons"][0]["metrics"]["fid"]
    assert difference["mean"] == pytest.approx((d0 + d1) / 2)
    assert (difference["low"], difference["high"]) == pytest.approx(
        ((d0 + d1) / 2 - T_975_1 * abs(d0 - d1) / 2, (d0 + d1) / 2 + T_975_1 * abs(d0 - d1) / 2), rel=1e-9)
    words = ("better", "worse", "no evidence of a difference at 2 seeds")
    assert difference["verdict"] == words[0 if difference["high"] < 0 else 1 if difference["low"] > 0 else 2]
    assert summary["runs"] == {"total": 4, "done": 4, "failed": 0, "interrupted": 0, "pending": 0}


def test_two_workers_give_the_same_summary(one_worker: Path, experiment_file: Path, tmp_path: Path) -> None:
    two = run_experiment(experiment_file, out=tmp_path / "exp", workers=2, log=quiet)
    assert comparable(two) == comparable(one_worker)
    for label in LABELS:  # the runs themselves are bit-identical
        assert (two / label / "generator.safetensors").read_bytes() == \
            (one_worker / label / "generator.safetensors").read_bytes()


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (Linux's /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def wait_gone(pids: list[int], seconds: float = 30) -> None:
    """Until each of `pids` has exited (a zombie counts: it runs nothing)."""
    deadline = time.monotonic() + seconds
    for pid in pids:
        while time.monotonic() < deadline:
            try:
                if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                    break
            except OSError:
                break
            time.sleep(0.01)
    assert time.monotonic() < deadline, f"workers {pids} outlived their runner"


def test_killed_runner_resumes_and_runs_each_once(one_worker: Path, experiment_file: Path, tmp_path: Path) -> None:
    root = tmp_path / "exp"
    runner = subprocess.Popen([sys.executable, "-m", "counterfeit", "experiment", "run", str(experiment_file),
                               "--out", str(root), "--workers", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def mid_way() -> bool:  # a run done, and another under way with a checkpoint to resume from
        runs = [root / label for label in LABELS]
        return (any((run / RESULT_FILE).exists() for run in runs)
                and any(list_checkpoints(run) and not (run / RESULT_FILE).exists() for run in runs))

    deadline = time.monotonic() + 120
    while not mid_way():
        assert runner.poll() is None, runner.stderr.read() if runner.stderr else ""
        assert time.monotonic() < deadline, "the experiment made no progress"
        time.sleep(0.01)
    workers = children(runner.pid)
    assert workers  # the pool's (and the resource tracker)
    os.kill(runner.pid, signal.SIGKILL)
    runner.wait()
    runner.stderr.close()
    # The orphaned workers exit within 0.2 s (backends._exit_with); one may still end its run and
    # write its result.json meanwhile, which the runner below then rightly counts as done.
    wait_gone(workers)
    finished = {label: (root / label / RESULT_FILE).stat().st_mtime_ns for label in LABELS
                if (root / label / RESULT_FILE).exists()}
    run_experiment(experiment_file, out=root, workers=2, log=quiet)
    events = read_events(root)
    second = max(i for i, e in enumerate(events) if e["event"] == "begin")
    assert sorted(events[second]["to_run"]) == sorted(set(LABELS) - set(finished))  # the rest, once each
    assert sorted(e["run"] for e in events[second:] if e["event"] == "done") == sorted(events[second]["to_run"])
    assert any(e["resumed"] for e in events[second:] if e["event"] == "done")  # went on from a checkpoint
    assert {label: (root / label / RESULT_FILE).stat().st_mtime_ns for label in finished} == finished
    for label in LABELS:
        steps = [json.loads(line)["step"] for line in (root / label / "metrics.jsonl").read_text().splitlines()
                 if "d_loss" in line]
        assert steps == sorted(set(steps))  # no step logged twice
    assert comparable(root) == comparable(one_worker)


def test_runs_not_started_when_a_worker_dies_are_left_for_the_same_command(
        one_worker: Path, experiment_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    def pool_broken_after_one(tasks: list[RunTask], workers: int, on_result: Any, gpus: Any = ()) -> list[RunTask]:
        """The local backend as a worker's death leaves it (test_backends.py kills one for real)."""
        on_result(tasks[0], {"status": "interrupted", "message": "a worker process died"})
        return list(tasks[1:])

    root = tmp_path / "exp"
    command = ["experiment", "run", str(experiment_file), "--out", str(root), "--workers", "2"]
    monkeypatch.setattr(runner, "run_local", pool_broken_after_one)
    assert main(command) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "not started, the pool having stopped: wide/seed-0, base/seed-1, wide/seed-1\n" in err
    assert "4 run(s) were interrupted or not started" in err and "run the same command again" in err
    summary = json.loads((root / SUMMARY_JSON).read_text())
    assert summary["runs"] == {"total": 4, "done": 0, "failed": 0, "interrupted": 0, "pending": 4}
    monkeypatch.undo()
    assert main(command) == 0
    assert comparable(root) == comparable(one_worker)  # the runs not started, started now


@pytest.fixture
def copied(one_worker: Path, tmp_path: Path) -> Path:
    """A finished experiment to damage."""
    return Path(shutil.copytree(one_worker, tmp_path / "exp"))


def summary_and_run(root: Path, experiment_file: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, int, str]:
    summary = main(["experiment", "summary", str(root)])
    run = main(["experiment", "run", str(experiment_file), "--out", str(root), "--workers", "1"])
    return summary, run, capsys.readouterr().err


def test_a_damaged_result_is_one_line_naming_it(copied: Path, experiment_file: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """result.json is written atomically: one that does not read was damaged since, and running
    the run over it would hide that (a failed one would even run again), so it is refused."""
    result = copied / "wide/seed-1" / RESULT_FILE
    events = (copied / EVENTS_FILE).read_bytes()
    for damage, message in [("garbage\n", "unreadable (JSONDecodeError)"),
                            ("[]\n", "not a run's result (no status done or failed)")]:
        result.write_text(damage)
        summary, run, err = summary_and_run(copied, experiment_file, capsys)
        assert (summary, run) == (2, 2) and "Traceback" not in err
        assert err.splitlines() == [f"counterfeit experiment: error: {result}: {message}; {RESULT_AGAIN}"] * 2
        assert result.read_text() == damage and (copied / EVENTS_FILE).read_bytes() == events  # nothing written


def test_a_metrics_line_cut_short_at_the_end_is_left_out(copied: Path, experiment_file: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    metrics = copied / "base/seed-0" / METRICS_FILE
    whole = metrics.read_bytes()
    metrics.write_bytes(whole[:-20])  # as a kill -9 mid-write leaves it
    summary, run, err = summary_and_run(copied, experiment_file, capsys)
    assert (summary, run) == (0, 0) and "error" not in err, err
    assert json.loads((copied / SUMMARY_JSON).read_text())["runs"]["done"] == 4
    lines = whole.decode().splitlines(keepends=True)
    metrics.write_text("".join([*lines[:2], lines[2][:-20] + "\n", *lines[3:]]))  # damage elsewhere: refused
    events = (copied / EVENTS_FILE).read_bytes()
    summary, run, err = summary_and_run(copied, experiment_file, capsys)
    assert (summary, run) == (2, 2) and "Traceback" not in err
    assert err.splitlines() == [f"counterfeit experiment: error: {metrics}: line 3 is not a JSON object; "
                                "the file is damaged"] * 2
    assert (copied / EVENTS_FILE).read_bytes() == events  # refused before any run, not after them


def test_an_event_cut_short_at_the_end_is_left_out_and_not_appended_to(
        copied: Path, experiment_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = copied / EVENTS_FILE
    whole = events.read_text()
    events.write_text(whole[:-20])  # the runner killed while it wrote its last event
    summary, run, err = summary_and_run(copied, experiment_file, capsys)
    assert (summary, run) == (0, 0) and "error" not in err, err
    lines = events.read_text().splitlines()
    assert lines[:-1] == whole.splitlines()[:-1]  # the cut line dropped, the next begins a line of its own
    assert [json.loads(line)["event"] for line in lines][-1] == "begin"
    assert len(json.loads((copied / SUMMARY_JSON).read_text())["invocations"]) == 2


def test_ray_backend_gives_the_same_summary(one_worker: Path, experiment_file: Path, tmp_path: Path) -> None:
    root = run_experiment(experiment_file, out=tmp_path / "exp", workers=2, backend="ray", log=quiet)
    assert [e["backend"] for e in read_events(root) if e["event"] == "begin"] == ["ray"]
    assert comparable(root) == comparable(one_worker)


class InterruptedRay:
    """Ray's API as run_ray uses it, its tasks never run: Ctrl-C comes while the runner waits on
    the two under way; on their cancel, the first stops at a checkpoint and returns, the second is
    stuck (say in code that ignores the cancel) until it is cancelled by force."""

    exceptions = SimpleNamespace(RayError=RuntimeError)

    def __init__(self) -> None:
        self.under_way: list[str] = []
        self.cancels: list[tuple[str, bool]] = []
        self.shut_down = False

    def init(self, **options: Any) -> None:
        pass

    def cluster_resources(self) -> dict[str, float]:
        return {"CPU": 2.0}

    def remote(self, **options: Any) -> Any:
        return lambda function: SimpleNamespace(remote=self.submit)

    def submit(self, task: RunTask) -> str:
        self.under_way.append(task.label)
        return task.label  # the task's reference

    def wait(self, refs: list[str], num_returns: int, timeout: float | None = None) -> tuple[list[str], list[str]]:
        if timeout is None:  # run_ray waiting on the runs under way
            raise KeyboardInterrupt
        ended = [ref for ref in refs if ref == self.under_way[0] and (ref, False) in self.cancels]
        return ended[:num_returns], [ref for ref in refs if ref not in ended[:num_returns]]

    def get(self, ref: str) -> dict[str, Any]:
        return {"status": "interrupted", "message": f"stopped at step 5; continue with: {ref}"}

    def cancel(self, ref: str, force: bool = False) -> None:
        self.cancels.append((ref, force))

    def shutdown(self) -> None:
        self.shut_down = True


def test_ray_runs_under_way_are_reported_when_the_runner_is_interrupted(
        experiment_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """As with the local backend, each run under way at a Ctrl-C ends with an "interrupted" line
    in events.jsonl and on stderr, a stuck one too, after the wait for it (none here: a fake)."""
    ray = InterruptedRay()
    monkeypatch.setattr(backends, "require_ray", lambda: ray)
    root = tmp_path / "exp"
    assert main(["experiment", "run", str(experiment_file), "--out", str(root), "--workers", "2",
                 "--backend", "ray"]) == 130
    stops, stuck = ray.under_way
    events = {e["run"]: e["message"] for e in read_events(root) if e["event"] == "interrupted"}
    assert events == {stops: f"stopped at step 5; continue with: {stops}",
                      stuck: "Ray: still running 0 s after its cancel; killed"}
    assert ray.cancels == [(stops, False), (stuck, False), (stuck, True)] and ray.shut_down
    err = capsys.readouterr().err
    assert all(f"{label}: interrupted: {message}\n" in err for label, message in events.items()), err
    assert "Traceback" not in err


def test_failed_runs_are_recorded_counted_and_not_retried(tiny_text: str, tmp_path: Path) -> None:
    diverging = '\n[[variants]]\nname = "diverges"\nset = { lr_g = 1e30, lr_d = 1e30 }\n'  # NaN at once
    path = tmp_path / "nan.toml"
    path.write_text(tiny_text.replace("seeds = [0, 1]", "seeds = [0]") + diverging)
    root = run_experiment(path, out=tmp_path / "exp", workers=1, log=quiet)
    result = json.loads((root / "diverges/seed-0" / RESULT_FILE).read_text())
    assert result["status"] == "failed" and result["exit_code"] == 3 and "NaN" in result["message"]
    summary = json.loads((root / SUMMARY_JSON).read_text())
    assert summary["runs"] == {"total": 3, "done": 2, "failed": 1, "interrupted": 0, "pending": 0}
    assert summary["failed"] == [{"run": "diverges/seed-0", "message": result["message"]}]
    assert summary["variants"][2]["runs"]["failed"] == [0] and summary["variants"][2]["metrics"] == {}
    assert summary["comparisons"][1] == {"variant": "diverges", "baseline": "base", "seeds": [], "metrics": {}}
    assert f"- Failed: `diverges/seed-0`: {result['message']}" in (root / SUMMARY_MD).read_text()
    run_experiment(path, out=root, workers=1, log=quiet)  # again: nothing left to run, the failure stands
    assert [e["to_run"] for e in read_events(root) if e["event"] == "begin"] == [
        ["base/seed-0", "wide/seed-0", "diverges/seed-0"], []]
    assert json.loads((root / "diverges/seed-0" / RESULT_FILE).read_text()) == result


def test_retry_failed_runs_them_again_and_keeps_each_failure(tiny_text: str, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    diverging = '\n[[variants]]\nname = "diverges"\nset = { lr_g = 1e30, lr_d = 1e30 }\n'
    path = tmp_path / "nan.toml"
    path.write_text(tiny_text.replace("seeds = [0, 1]", "seeds = [0]") + diverging)
    root = run_experiment(path, out=tmp_path / "exp", workers=1, log=quiet)
    first = json.loads((root / "diverges/seed-0" / RESULT_FILE).read_text())
    done = json.loads((root / "base/seed-0" / RESULT_FILE).read_text())
    # A failure that a fix has since removed: a done run recorded as failed, as a bug would leave it
    forged = {"status": "failed", "message": "RuntimeError: a bug since fixed"}
    (root / "base/seed-0" / RESULT_FILE).write_text(json.dumps(forged))
    assert main(["experiment", "run", str(path), "--out", str(root), "--workers", "1", "--retry-failed"]) == 0
    capsys.readouterr()
    events = read_events(root)
    assert [e["run"] for e in events if e["event"] == "retry"] == ["base/seed-0", "diverges/seed-0"]
    assert [e["to_run"] for e in events if e["event"] == "begin"][-1] == ["base/seed-0", "diverges/seed-0"]
    # the fixed run is done again, judged as before (it had finished: resume leaves it as it was)
    again = json.loads((root / "base/seed-0" / RESULT_FILE).read_text())
    assert again["status"] == "done" and again["eval"]["metrics"] == done["eval"]["metrics"]
    assert json.loads((root / "base/seed-0" / "result.failed.json").read_text()) == forged
    # the NaN run fails again, the same way; its first failure is kept beside the new one
    assert json.loads((root / "diverges/seed-0" / RESULT_FILE).read_text())["message"] == first["message"]
    assert json.loads((root / "diverges/seed-0" / "result.failed.json").read_text()) == first
    assert json.loads((root / SUMMARY_JSON).read_text())["runs"]["done"] == 2
    run_experiment(path, out=root, workers=1, log=quiet, retry_failed=True)  # a second retry: a second file
    assert (root / "diverges/seed-0" / "result.failed-2.json").exists()


LONG_EXPERIMENT = """
preset = "tiny"
seeds = [0, 1]

[budget]
steps = 1000000

[eval]
n = 100

[set]
checkpoint_every = 20
log_every = 20

[[variants]]
name = "base"
"""


@pytest.mark.parametrize(("backend", "signum"), [("local", signal.SIGINT), ("local", signal.SIGTERM),
                                                 ("ray", signal.SIGINT), ("ray", signal.SIGTERM)])
def test_a_signal_to_the_runner_alone_stops_its_runs_at_a_checkpoint(backend: str, signum: int,
                                                                     tmp_path: Path) -> None:
    """`kill -INT PID` or `kill -TERM PID` from another shell reaches the runner only (not its
    workers, as a terminal's Ctrl-C reaches the whole group): the runs under way still stop at
    their next step with a checkpoint (on Ray, cancelled), and the runner exits at once."""
    (tmp_path / "long.toml").write_text(LONG_EXPERIMENT)
    root, labels = tmp_path / "exp", ["base/seed-0", "base/seed-1"]
    runner = subprocess.Popen([sys.executable, "-m", "counterfeit", "experiment", "run", str(tmp_path / "long.toml"),
                               "--out", str(root), "--workers", "2", "--backend", backend], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not all(list_checkpoints(root / label) for label in labels):
            assert runner.poll() is None, runner.stderr.read() if runner.stderr else ""
            assert time.monotonic() < deadline, "the runs made no checkpoint"
            time.sleep(0.05)
        os.kill(runner.pid, signum)
        assert runner.wait(timeout=60) == 130  # without the runner passing it on: 1,000,000 steps later
    finally:
        if runner.poll() is None:
            os.killpg(runner.pid, signal.SIGKILL)
        runner.wait()
        stderr = runner.stderr.read() if runner.stderr else ""
        runner.stderr.close() if runner.stderr else None
    assert "continue with: counterfeit experiment run" in stderr and "Traceback" not in stderr
    stops = {e["run"]: e["message"] for e in read_events(root) if e["event"] == "interrupted"}
    assert sorted(stops) == labels and all(m.startswith("stopped at step") for m in stops.values()), stops
    assert all(f"{label}: interrupted: {stops[label]}\n" in stderr for label in labels), stderr
    for label in labels:  # checkpointed, not finished: the same command goes on from here
        assert list_checkpoints(root / label) and not (root / label / RESULT_FILE).exists()
