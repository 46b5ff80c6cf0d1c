from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import nn

from counterfeit.config import resolve
from counterfeit.models import build_generator
from counterfeit.priors import Prior
from counterfeit.sampling import load_generator
from counterfeit.train.ema import EMA, STATS_BATCHES, has_batch_norm, stats_inputs
from counterfeit.train.state import build_state, make_ema
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
        ema.update(model, 100 + k)  # past the warm-up: (1 + t) / (10 + t) > 0.8 from t = 36
        expected = [decay * e + (1 - decay) * p.detach() for e, p in zip(expected, model.parameters())]
    for got, want in zip(ema.model.parameters(), expected):
        torch.testing.assert_close(got, want)
    assert not torch.allclose(ema.model.weight, model.weight)


def test_decay_warms_up_from_the_first_step() -> None:
    model = nn.Linear(3, 2)
    ema = EMA(model, 0.999)
    assert [ema.decay_at(t) for t in (0, 1, 8)] == [1 / 10, 2 / 11, 9 / 18]
    assert ema.decay_at(10_000) == 0.999
    start = ema.model.weight.detach().clone()
    with torch.no_grad():
        model.weight.add_(1.0)
    ema.update(model, 0)  # 0.1 of the initial weights, 0.9 of the new ones
    torch.testing.assert_close(ema.model.weight, 0.1 * start + 0.9 * model.weight.detach())


def test_recomputed_statistics_are_those_of_the_averaged_weights() -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    gen = torch.Generator().manual_seed(0)
    inputs = [(torch.randn(5, 3, generator=gen), None) for _ in range(3)]
    ema = EMA(model, 0.5, inputs)
    w0, b0 = model[0].weight.detach().clone(), model[0].bias.detach().clone()
    with torch.no_grad():
        model[0].weight.mul_(-2.0).add_(1.0)
        model[0].bias.add_(3.0)
    model(torch.randn(8, 3) + 5)  # G's own running statistics move: none of this may reach the average
    ema.update(model, 100)  # past the warm-up: decay 0.5
    average = ema.averaged()
    weight, bias = 0.5 * w0 + 0.5 * model[0].weight, 0.5 * b0 + 0.5 * model[0].bias
    pre = [z @ weight.T + bias for z, _ in inputs]  # the averaged Linear's outputs, (5, 4) per batch
    # momentum None: the plain mean over batches of each batch's mean and unbiased variance
    mean = sum(p.mean(0) for p in pre) / 3
    var = sum(((p - p.mean(0)) ** 2).sum(0) / (5 - 1) for p in pre) / 3
    torch.testing.assert_close(average[1].running_mean, mean)
    torch.testing.assert_close(average[1].running_var, var)
    assert int(average[1].num_batches_tracked) == 3
    assert average[1].momentum == 0.1 and not average.training  # left as batch norm had it, in eval mode
    assert not torch.allclose(average[1].running_mean, model[1].running_mean)


def test_statistics_are_recomputed_only_after_the_average_changed() -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    ema = EMA(model, 0.9, [(torch.randn(6, 3), None)])
    calls = []
    ema.model.register_forward_hook(lambda *args: calls.append(1))
    ema.averaged()
    ema.averaged()
    assert len(calls) == 1
    ema.update(model, 0)
    ema.state_dict()  # a checkpoint: the statistics it saves belong to the averaged weights
    ema.averaged()
    assert len(calls) == 2


def test_a_generator_without_batch_norm_is_left_as_it_was() -> None:
    config = resolve(preset="tiny", overrides={"ema": "0.9"})
    generator = build_generator(config)
    ema = make_ema(config, generator, torch.device("cpu"))
    assert not has_batch_norm(generator) and ema is not None and ema.stats_inputs is None
    before = {k: v.clone() for k, v in ema.model.state_dict().items()}
    average = ema.averaged()
    assert average is ema.model and average.state_dict().keys() == before.keys()
    assert all(torch.equal(average.state_dict()[k], v) for k, v in before.items())


def test_conditional_statistics_noise_is_fixed_and_class_balanced() -> None:
    config = resolve(preset="cdcgan", overrides={"ema": "0.999", "batch_size": "16"})
    prior = Prior(config.prior, config.z_dim)
    inputs = stats_inputs(config, prior, torch.device("cpu"))
    assert len(inputs) == STATS_BATCHES and all(z.shape == (16, config.z_dim) for z, _ in inputs)
    labels = torch.cat([y for _, y in inputs])
    assert torch.equal(labels, torch.arange(STATS_BATCHES * 16) % 10)  # digits 0-9 in turn across the batches
    again = stats_inputs(config, prior, torch.device("cpu"))
    assert all(torch.equal(z, z2) for (z, _), (z2, _) in zip(inputs, again))
    other = stats_inputs(config.replace(seed=1), prior, torch.device("cpu"))
    assert not torch.equal(inputs[0][0], other[0][0])


def test_dcgan_average_uses_its_own_statistics() -> None:
    config = resolve(preset="dcgan", overrides={"ema": "0.9", "batch_size": "8", "g_hidden": "8,4"})
    state = build_state(config)
    state.generator(state.noise(8))  # training moves G's own statistics
    state.end_step()
    average = state.sampling_generator
    own = [m.running_mean for m in state.generator.modules() if isinstance(m, nn.BatchNorm2d | nn.BatchNorm1d)]
    mine = [m.running_mean for m in average.modules() if isinstance(m, nn.BatchNorm2d | nn.BatchNorm1d)]
    assert len(own) == len(mine) == 2
    assert all(not torch.allclose(a, b) for a, b in zip(own, mine))
    fresh = build_state(config)  # the same weights, the same noise: the same statistics
    fresh.generator(fresh.noise(8))
    fresh.end_step()
    for a, b in zip(average.state_dict().values(), fresh.sampling_generator.state_dict().values()):
        assert torch.equal(a, b)


def test_run_saves_the_average_as_the_generator(tmp_path: Path) -> None:
    run = train(resolve(preset="tiny", overrides={"ema": "0.9", "steps": "20"}), out=tmp_path / "ema", quiet=True)
    average, raw = load_file(run / "generator.safetensors"), load_file(run / "generator_raw.safetensors")
    assert average.keys() == raw.keys()
    assert any(not torch.equal(average[k], raw[k]) for k in average)
    generator, _ = load_generator(run)  # what `sample` and evaluation use
    for name, tensor in generator.state_dict().items():
        torch.testing.assert_close(tensor, average[name])
