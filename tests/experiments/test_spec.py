"""Experiment files: what they resolve to, and every bad one refused in one line before any run."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from counterfeit.cli import main
from counterfeit.config import resolve
from counterfeit.experiments.expdir import open_experiment
from counterfeit.experiments.spec import STEP_CAP, better_direction, load_experiment
from counterfeit.seeds import SEED_LIMIT


def test_variants_resolve_to_the_preset_with_their_options(tiny_file: Path) -> None:
    experiment = load_experiment(tiny_file)
    assert [v.name for v in experiment.variants] == ["base", "wide"] and experiment.baseline == "base"
    common = {"eval_every": 20, "log_every": 5, "checkpoint_every": 5, "steps": 20}
    assert experiment.variants[0].config_for(1) == resolve(preset="tiny", overrides={**common, "seed": 1})
    assert experiment.variants[1].config_for(0) == resolve(preset="tiny", overrides={**common, "g_hidden": [64]})
    assert experiment.threads == 1 and experiment.evaluation.n == 100
    assert experiment.evaluation.metrics == ("fid", "precision", "recall", "coverage", "classes_covered")


def test_stacked_variants_are_judged_by_their_modes_by_default(tmp_path: Path) -> None:
    path = tmp_path / "stacked.toml"
    path.write_text('preset = "stacked"\nseeds = [0]\n[budget]\nsteps = 10\n[[variants]]\nname = "dcgan"\n')
    assert load_experiment(path).evaluation.metrics == ("modes_covered", "mode_kl")


def test_a_conditional_threshold_on_the_worst_digit(tmp_path: Path) -> None:
    path = tmp_path / "cdcgan.toml"  # the time-to-quality target of cdcgan: every digit drawn as asked
    path.write_text('preset = "cdcgan"\nseeds = [0]\n[budget]\nsteps = 10\n[eval]\n'
                    'threshold = { cond_accuracy_min = 0.97 }\n[[variants]]\nname = "cdcgan"\n')
    evaluation = load_experiment(path).evaluation
    assert (evaluation.threshold.metric, evaluation.threshold.direction) == ("cond_accuracy_min", "higher")
    assert evaluation.threshold.reached(0.975) and not evaluation.threshold.reached(0.965)
    assert evaluation.metrics[-2:] == ("cond_accuracy", "cond_accuracy_min")  # judged at the end too


def test_seconds_budget_and_a_variant_preset(tmp_path: Path) -> None:
    path = tmp_path / "equal_time.toml"
    path.write_text('preset = "mlp2"\nseeds = [3, 4, 5]\n[budget]\nseconds = 90\n'
                    '[[variants]]\nname = "mlp2"\n[[variants]]\nname = "mlp4"\npreset = "mlp4"\n')
    experiment = load_experiment(path)
    mlp4 = experiment.variants[1].config_for(4)
    assert (mlp4.preset, mlp4.seed, mlp4.max_seconds, mlp4.steps, mlp4.epochs) == ("mlp4", 4, 90.0, STEP_CAP, 0)
    assert mlp4.g_hidden == (256, 512, 1024)  # the mlp4 preset's own model
    assert experiment.baseline is None  # no variant is named baseline, none is given
    assert "until its clock passes 90 s" in experiment.budget.rule()


def test_fingerprint_follows_what_results_depend_on(tiny_file: Path, tiny_text: str) -> None:
    before = load_experiment(tiny_file).fingerprint()
    tiny_file.write_text(tiny_text.replace("does a wider G help", "a reworded description"))
    assert load_experiment(tiny_file).fingerprint() == before
    tiny_file.write_text(tiny_text.replace("g_hidden = [64]", "g_hidden = [48]"))
    assert load_experiment(tiny_file).fingerprint() != before


def refused(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str], *options: str) -> str:
    """The one line a bad experiment gets: exit 2, no traceback, no directory made."""
    path = tmp_path / "exp.toml"
    path.write_text(text)
    out = tmp_path / "out"
    assert main(["experiment", "run", str(path), "--out", str(out), *options]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert not out.exists()
    return err


@pytest.mark.parametrize("change, message", [
    (("seeds = [0, 1]", "seed = 0\nseeds = [0, 1]"), "unknown key 'seed' (did you mean 'seeds'?)"),
    (("g_hidden = [64]", "g_hiden = [64]"), "variant 'wide': unknown config key 'g_hiden' (did you mean 'g_hidden'?)"),
    (("g_hidden = [64]", "d_dropout = 1.5"), "variant 'wide': d_dropout must be in [0, 1), got 1.5"),
    (("g_hidden = [64]", "steps = 10"), "variant 'wide': steps is set by the experiment"),
    (('name = "wide"\nset', 'name = "wide"\nsett'), "variant 'wide': unknown key 'sett' (did you mean 'set'?)"),
    (("eval_every = 20", "eval_evry = 20"), "[set] (variant 'base'): unknown config key 'eval_evry'"),
    (("seeds = [0, 1]", "seeds = []"), "seeds: give at least one seed"),
    (("seeds = [0, 1]", ""), "seeds: give at least one seed"),
    (("seeds = [0, 1]", "seeds = [0, 0]"), "seeds: [0, 0] lists a seed twice"),
    (("seeds = [0, 1]", "seeds = [0, -1]"), f"seeds: each must be in [0, {SEED_LIMIT}), got -1"),
    (('name = "wide"', 'name = "base"'), "variant 'base': the name is used twice"),
    (("steps = 20", "minutes = 5"), "[budget]: unknown key 'minutes'"),
    (("steps = 20", "steps = 20\nseconds = 5"), "[budget]: give either steps = N or seconds = S, not both"),
    (("[budget]\nsteps = 20", ""), "[budget]: missing; give steps = N or seconds = S"),
    (("steps = 20", "seconds = -5"), "[budget]: seconds: expected a positive number"),
    (('baseline = "base"', 'baseline = "narrow"'), "baseline: no variant is named 'narrow'"),
    (("fid = 800", "diversity = 0.5"), "threshold: 'diversity' is not an in-training metric with a better direction"),
    (("eval_every = 20", "eval_every = 0"), "threshold: variant 'base' has eval_every = 0"),
    (("n = 100", 'n = 100\nmetrics = ["fidd"]'), "metrics: unknown metric 'fidd'"),
    (('preset = "tiny"', 'preset = "mlp3"'), "exp.toml: preset: unknown preset 'mlp3' (choose from "),
    (('name = "wide"', 'name = "wide"\npreset = "mlp9"'), "exp.toml: variant 'wide': preset: unknown preset 'mlp9'"),
])
def test_bad_file_is_one_line_naming_the_key(change: tuple[str, str], message: str, tiny_text: str,
                                             tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old, new = change
    assert old in tiny_text
    err = refused(tmp_path, tiny_text.replace(old, new, 1), capsys)
    assert message in err and "exp.toml" in err


def test_a_variants_preset_against_its_config_files_is_named_as_the_variants(
        tiny_text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "my.toml").write_text('preset = "tiny"\n')  # each variant's base
    text = tiny_text.replace('preset = "tiny"', 'config = "my.toml"').replace('name = "wide"', 'name = "wide"\npreset = "mlp2"')
    err = refused(tmp_path, text, capsys)  # mlp2's values labelled tiny, before: now refused, and not as --preset's
    assert "my.toml: preset = 'tiny', but " in err and "exp.toml: variant 'wide': preset mlp2: give one of them" in err


def test_bad_options(tiny_text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                     monkeypatch: pytest.MonkeyPatch) -> None:
    assert "--address 10.0.0.1:6379: only for --backend ray" in refused(
        tmp_path, tiny_text, capsys, "--address", "10.0.0.1:6379")
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    assert "pip install 'counterfeit[ray]'" in refused(tmp_path, tiny_text, capsys, "--backend", "ray")


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_an_out_that_holds_something_else_is_untouched(tiny_file: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "mine"
    (out / "notes").mkdir(parents=True)
    (out / "notes" / "todo.txt").write_text("keep me")
    assert main(["experiment", "run", str(tiny_file), "--out", str(out)]) == 2
    assert "is not empty and holds no experiment" in capsys.readouterr().err
    assert snapshot(out) == {"notes/todo.txt": b"keep me"}


def test_a_changed_file_is_refused_naming_the_change(tiny_file: Path, tiny_text: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    open_experiment(out, load_experiment(tiny_file))
    err = refused_rerun(out, tiny_file, tiny_text.replace("steps = 20", "steps = 50"), capsys)
    assert "changed since" in err and "budget.steps was 20, is now 50" in err


def refused_rerun(out: Path, file: Path, text: str, capsys: pytest.CaptureFixture[str]) -> str:
    """The experiment file rewritten as `text` and run again into `out`: refused in one line (returned),
    with nothing in `out` touched."""
    before = snapshot(out)
    file.write_text(text)
    assert main(["experiment", "run", str(file), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and snapshot(out) == before
    return err


def _as_recorded_before_lr_decay(out: Path) -> None:
    """Make `out`'s record what a counterfeit without the `lr_decay` key wrote: no such key in its
    variants, and so another fingerprint."""
    record = json.loads((out / "experiment.json").read_text())
    for values in record["spec"]["variants"].values():
        del values["lr_decay"]
    record["fingerprint"] = "0" * 64
    (out / "experiment.json").write_text(json.dumps(record, indent=1) + "\n")


def test_a_config_key_added_since_at_its_default_is_no_change(tiny_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    open_experiment(out, load_experiment(tiny_file))
    _as_recorded_before_lr_decay(out)
    before = snapshot(out)
    open_experiment(out, load_experiment(tiny_file))  # the same experiment: its runs did lr_decay = 0
    assert snapshot(out) == before


def test_a_config_key_added_since_set_otherwise_is_a_change(tiny_file: Path, tiny_text: str, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    open_experiment(out, load_experiment(tiny_file))
    _as_recorded_before_lr_decay(out)
    err = refused_rerun(out, tiny_file, tiny_text.replace("g_hidden = [64] }", "g_hidden = [64], lr_decay = 0.5 }"),
                        capsys)
    assert "changed since" in err and "variants.wide.lr_decay was added" in err


def test_summary_of_a_directory_that_is_no_experiment(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["experiment", "summary", str(tmp_path)]) == 2
    assert "not an experiment directory" in capsys.readouterr().err


def test_better_direction_comes_from_the_registry() -> None:
    assert [better_direction(m) for m in ("fid", "coverage", "classes_covered", "cond_accuracy")] == \
        ["lower", "higher", "higher", "higher"]
    assert better_direction("memorisation") is None  # ~1 is best: no side is better, so no verdict
