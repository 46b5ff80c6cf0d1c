from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import nn

from counterfeit.config import resolve
from counterfeit.sampling import load_generator
from counterfeit.train.ema import EMA
from counterfeit.train.loop import train


def test_average_equals_the_hand_computed_one() -> None:
    model = nn.Linear(3, 2)
    decay = 0.8
    ema = EMA(model, decay)
    expected = [p.detach().clone() for p in model.parameters()]  # the average starts at w_0
    for k in range(5):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(float(k + 1))
        ema.update(model)
        expected = [decay * e + (1 - decay) * p.detach() for e, p in zip(expected, model.parameters())]
    for got, want in zip(ema.model.parameters(), expected):
        torch.testing.assert_close(got, want)
    assert not torch.allclose(ema.model.weight, model.weight)


def test_batch_norm_statistics_are_copied() -> None:
    model, ema = nn.BatchNorm1d(4), None
    ema = EMA(model, 0.9)
    model(torch.randn(8, 4) + 3)  # moves the running mean
    ema.update(model)
    torch.testing.assert_close(ema.model.running_mean, model.running_mean)


def test_run_saves_the_average_as_the_generator(tmp_path: Path) -> None:
    run = train(resolve(preset="tiny", overrides={"ema": "0.9", "steps": "20"}), out=tmp_path / "ema", quiet=True)
    average, raw = load_file(run / "generator.safetensors"), load_file(run / "generator_raw.safetensors")
    assert average.keys() == raw.keys()
    assert any(not torch.equal(average[k], raw[k]) for k in average)
    generator, _ = load_generator(run)  # what `sample` and evaluation use
    for name, tensor in generator.state_dict().items():
        torch.testing.assert_close(tensor, average[name])
