"""TensorBoard events, read back with TensorBoard's own EventAccumulator: every logged value, every
grid, the config; a resumed run continues the same curves without a duplicate point."""

from __future__ import annotations

import io
import json
import sys
import textwrap
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # the `tensorboard` extra

from counterfeit.config import ConfigError, resolve
from counterfeit.train.loop import resume, train

EVERYTHING = {"scalars": 0, "images": 0, "tensors": 0}  # keep every event, not a sample of them


def events(run: Path) -> EventAccumulator:
    accumulator = EventAccumulator(str(run / "tensorboard"), size_guidance=EVERYTHING)
    accumulator.Reload()
    return accumulator


def records(run: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text("utf-8").splitlines()]


def scalars(accumulator: EventAccumulator, tag: str) -> list[tuple[int, float]]:
    return [(event.step, event.value) for event in accumulator.Scalars(tag)]


def test_every_record_grid_and_the_config(tmp_path: Path) -> None:
    config = resolve(preset="tiny", overrides={"tensorboard": "true", "eval_every": "25"})
    run = train(config, out=tmp_path / "run", quiet=True)
    accumulator = events(run)
    losses = [r for r in records(run) if "d_loss" in r]
    evals = [r for r in records(run) if "eval_n" in r]
    for key, tag in (("d_loss", "loss/D"), ("g_loss", "loss/G"), ("d_real", "D_output/D(x)"),
                     ("d_fake", "D_output/D(G(z))")):
        assert scalars(accumulator, tag) == [(r["step"], pytest.approx(r[key], rel=1e-6)) for r in losses]
    for key in ("fid", "precision", "recall", "classes_covered", "diversity"):
        assert scalars(accumulator, f"metrics/{key}") == [(r["step"], pytest.approx(r[key], rel=1e-6)) for r in evals]
        assert scalars(accumulator, f"real_floor/{key}") == [(r["step"], pytest.approx(r["floor"][key], rel=1e-6))
                                                            for r in evals]
    images = accumulator.Images("samples")
    assert [image.step for image in images] == [0, 25, 50]
    for image in images:
        shown = np.asarray(Image.open(io.BytesIO(image.encoded_image_string)).convert("L"))
        assert (shown == np.asarray(Image.open(run / "samples" / f"step_{image.step:06d}.png"))).all()
    text = accumulator.Tensors("config/text_summary")[0].tensor_proto.string_val[0].decode()
    shown, final = tomllib.loads(textwrap.dedent(text)), tomllib.loads((run / "config.toml").read_text("utf-8"))
    final["run"].pop("duration_seconds")  # recorded when the run ends; the text is written as it starts
    assert shown == final
    fired = [r for r in records(run) if "collapse" in r]
    assert [e.step for e in accumulator.Tensors("collapse/text_summary")] == [r["step"] for r in fired]


def test_a_resume_after_a_crash_continues_the_curves_without_duplicates(tmp_path: Path) -> None:
    overrides = {"tensorboard": "true", "checkpoint_every": "10"}
    whole = train(resolve(preset="tiny", overrides={**overrides, "steps": "50"}), out=tmp_path / "whole", quiet=True)
    run = train(resolve(preset="tiny", overrides={**overrides, "steps": "30"}), out=tmp_path / "run", quiet=True)
    # A crash after step 30 was logged and its grid drawn, but before checkpoint 30 was written:
    (run / "checkpoints" / "step_000030.safetensors").unlink()
    assert [e.step for e in events(run).Scalars("loss/D")][-1] == 30
    resume(run, {"steps": 50}, quiet=True)  # from checkpoint 20
    resumed, uninterrupted = events(run), events(whole)
    for tag in ("loss/D", "loss/G", "D_output/D(x)", "D_output/D(G(z))"):
        assert scalars(resumed, tag) == scalars(uninterrupted, tag)  # each step once, the same values
    assert [i.step for i in resumed.Images("samples")] == [i.step for i in uninterrupted.Images("samples")] == [0, 25, 50]
    assert [i.encoded_image_string for i in resumed.Images("samples")] == \
        [i.encoded_image_string for i in uninterrupted.Images("samples")]


def test_turned_on_at_resume_it_writes_the_whole_run(tmp_path: Path) -> None:
    run = tmp_path / "run"
    train(resolve(preset="tiny", overrides={"steps": "20"}), out=run, quiet=True)
    resume(run, {"steps": 30, "tensorboard": True}, quiet=True)
    assert [e.step for e in events(run).Scalars("loss/D")] == [1, 10, 20, 30]


def test_without_the_package_it_is_one_line_before_any_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # as if not installed
    with pytest.raises(ConfigError, match=r"tensorboard = true: the tensorboard package is not installed "
                                          r"\(pip install 'counterfeit\[tensorboard\]'\)"):
        train(resolve(preset="tiny", overrides={"tensorboard": "true"}), out=tmp_path / "run", quiet=True)
    assert not (tmp_path / "run").exists()
