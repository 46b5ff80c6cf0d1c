"""`counterfeit bench --to-quality`: the targets' arithmetic, and a tiny run that meets an easy
target (stops at that eval) or never meets one (runs to its steps or its cap, exit 1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from counterfeit.bench.quality import BEST, EVERY_DIGIT, TARGETS, UNCONDITIONAL, Target
from counterfeit.cli import main
from counterfeit.config import resolve
from counterfeit.rundir import TO_QUALITY_FILE, RunDir


def test_unconditional_target_bounds_fid_by_the_floor_and_precision_recall_from_below() -> None:
    record = {"fid": 10.0, "precision": 0.85, "recall": 0.70, "floor": {"fid": 2.0}}
    assert UNCONDITIONAL.unmet(record) == ["recall 0.7 < 0.75", "fid 10 > 4 x floor = 8"]
    assert UNCONDITIONAL.holds({**record, "fid": 8.0, "recall": 0.75})  # bounds are inclusive
    assert not UNCONDITIONAL.holds({**record, "fid": 8.0, "recall": 0.75, "floor": {}})  # no floor: unmet
    assert not UNCONDITIONAL.holds({"fid": 1.0, "recall": 0.9, "floor": {"fid": 2.0}})  # precision missing


def test_conditional_target_asks_every_digit_for_97_percent() -> None:
    assert EVERY_DIGIT.unmet({"cond_accuracy": 0.99, "cond_accuracy_min": 0.969}) == ["cond_accuracy_min 0.969 < 0.97"]
    assert EVERY_DIGIT.holds({"cond_accuracy": 0.98, "cond_accuracy_min": 0.97})
    assert TARGETS["cdcgan"] is EVERY_DIGIT and TARGETS["dcgan"] is UNCONDITIONAL


def test_best_target_adds_every_class_at_the_datas_frequencies() -> None:
    record = {"fid": 4.0, "precision": 0.85, "recall": 0.80, "classes_covered": 10, "class_kl": 0.02,
              "floor": {"fid": 1.0}}
    assert BEST.holds(record) and TARGETS["best"] is BEST
    assert BEST.unmet({**record, "classes_covered": 9, "class_kl": 0.03}) == ["classes_covered 9 < 10",
                                                                             "class_kl 0.03 > 0.02"]


def test_at_most_bounds_from_above() -> None:
    target = Target("fid at most 5", at_most={"fid": 5.0})
    assert target.holds({"fid": 5.0}) and target.unmet({"fid": 5.5}) == ["fid 5.5 > 5"]


def to_quality(tmp_path: Path, *args: str) -> tuple[int, dict]:
    out = tmp_path / "run"
    code = main(["bench", "--to-quality", "tiny", "--out", str(out), "--quiet", "--json", *args])
    return code, json.loads((out / TO_QUALITY_FILE).read_text())


def test_a_met_target_stops_the_run_at_that_eval(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(TARGETS, "tiny", Target("any sample", at_least={"classes_covered": 0}))
    code, result = to_quality(tmp_path, "--set", "eval_every=10", "--set", "steps=50")
    assert code == 0 and result == json.loads(capsys.readouterr().out)  # printed and written alike
    assert result["reached"] and result["stopped_by"] == "target"
    assert result["steps"] == 10 and result["metrics"]["eval_n"] == 2000 and "fid" in result["metrics"]
    assert 0 < result["seconds"] and result["cpu"] and "load_1min" in result
    records = RunDir(tmp_path / "run").read_metrics()
    assert max(r["step"] for r in records) == 10  # trained no further than the eval that met it


def test_an_unmet_target_runs_to_the_last_step_and_exits_1(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(TARGETS, "tiny", Target("impossible", at_least={"precision": 2.0}))
    code, result = to_quality(tmp_path, "--set", "eval_every=25", "--set", "steps=50")
    assert code == 1 and not result["reached"]
    assert result["steps"] == 50 and result["stopped_by"] == "steps: all 50 steps done"
    assert result["metrics"]["eval_n"] == 2000  # the last eval: step 50
    assert [u.split()[0] for u in result["unmet"]] == ["precision"]


def test_an_unmet_target_stops_at_the_cap_and_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(TARGETS, "tiny", Target("impossible", at_least={"precision": 2.0}))
    out = tmp_path / "run"
    code = main(["bench", "--to-quality", "tiny", "--out", str(out), "--quiet", "--max-minutes", "0.0001",
                 "--set", "eval_every=1", "--set", "steps=1000"])
    assert code == 1
    text = capsys.readouterr().out
    assert text.startswith("tiny: target not reached (impossible); stopped by max_seconds: the 0.006 s cap")
    assert "unmet at the last eval: precision" in text
    assert json.loads((out / TO_QUALITY_FILE).read_text())["steps"] < 1000


def test_a_collapse_abort_is_not_called_the_cap_nor_a_cap_before_any_eval_an_eval(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from counterfeit.bench.quality import _why_not

    config = resolve(preset="tiny", overrides={"steps": "1000", "max_seconds": "30", "collapse_abort": "true"})
    collapsed = [{"step": 40, "d_loss": 0.01}, {"step": 50, "collapse": "d_wins", "message": "..."}]
    assert _why_not(config, collapsed, 50, evaluated=False) == "collapse_abort: d_wins at step 50"  # was the cap
    assert _why_not(config, collapsed[:1], 40, evaluated=True) == "max_seconds: the 30 s cap"
    assert _why_not(config, collapsed[:1], 40, evaluated=False) == (
        "max_seconds: the 30 s cap, before the first evaluation (eval_every 0)")


@pytest.mark.parametrize("args, message", [
    (["--to-quality", "cgan"], "--to-quality cgan: no quality target for this preset (presets with one: "),
    (["--to-quality", "dcgan", "--set", "eval_every=0"], "eval_every: 0 evaluates nothing during training"),
    (["--to-quality", "dcgan", "--preset", "mlp2"], "--preset: cannot be combined with --to-quality"),
    (["--to-quality", "dcgan", "--precision", "bf16"], "--seconds, --precision: not with --to-quality"),  # were unused
    (["--to-quality", "dcgan", "--seconds", "9"], "--seconds, --precision: not with --to-quality"),
    (["--preset", "tiny", "--max-minutes", "1"], "--max-minutes: only with --to-quality"),  # were ignored
    (["--preset", "tiny", "--quiet"], "--quiet: only with --to-quality"),
    # no evaluator of the data: it trained every step, evaluating nothing
    (["--to-quality", "mlp2", "--set", "invert=true"], "no evaluator has been trained on this data"),
])
def test_bad_to_quality_options_are_one_line_errors(args: list[str], message: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
