"""`precision`: bf16 steps against fp32 ones, `auto` resolved from the hardware probe, and the
recorded precision kept on resume."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from counterfeit import hardware
from counterfeit.config import ConfigError, resolve, to_dict
from counterfeit.rundir import load_run_config
from counterfeit.train.checkpoint import list_checkpoints, read_checkpoint
from counterfeit.train.fast import MLPStep
from counterfeit.train.fast.mlp_pass import MLPPass
from counterfeit.train import loop
from counterfeit.train.loop import resume, train
from counterfeit.train.precision import compute_dtype, resolve_precision
from counterfeit.train.state import build_state
from counterfeit.train.step import AutogradStep, make_step

BF16_EPS = 2.0**-8  # bfloat16 keeps 8 significant bits: one rounding is within half of this, relative
# Adam with eps far above every |gradient| (here ~1e-2) is momentum SGD, lr * m / eps: the update
# is linear in the gradients, so its relative error is theirs. (With the usual eps, Adam divides each
# gradient by its own size, and where a gradient is near zero either precision's rounding picks
# the sign of a full lr step: a difference that says nothing about the products.)
LINEAR_ADAM = {"adam_eps": "1.0", "lr_g": "0.01", "lr_d": "0.01", "device": "cpu"}
MLP = {"g_hidden": "64,128", "d_hidden": "128,64", "activation": "leaky_relu", "d_dropout": "0.3"}
CONV = {"g_hidden": "16,8", "d_hidden": "8,16", "batch_size": "8"}


def weight_changes(preset: str, overrides: dict[str, str], precision: str, steps: int = 5, device: str = "cpu"
                   ) -> tuple[type, torch.Tensor, torch.Tensor]:
    """The step's class and G's and D's weight changes (flattened) after `steps` updates on fixed batches."""
    s = build_state(resolve(preset=preset, overrides={**overrides, **LINEAR_ADAM, "precision": precision,
                                                      "device": device}))
    step = make_step(s)
    start = [[p.detach().clone() for p in net.parameters()] for net in (s.generator, s.discriminator)]
    batches = torch.Generator().manual_seed(1)
    for _ in range(steps):
        real = (torch.rand(s.config.batch_size, 1, 28, 28, generator=batches) * 2 - 1).to(device)
        labels = torch.randint(0, 10, (s.config.batch_size,), generator=batches) if s.config.conditional else None
        step(real, None if labels is None else labels.to(device))
    g_change, d_change = (torch.cat([(p.detach() - p0).flatten() for p, p0 in zip(net.parameters(), net_start)])
                          for net, net_start in zip((s.generator, s.discriminator), start))
    return type(step), g_change, d_change


# The tolerances, on ||change_bf16 - change_fp32|| / ||change_fp32|| over each net's weights:
# - the hand-written MLP step rounds each product's operands once (activations, backpropagated
#   gradients, weight copies: 2^-9 each), sums in float32 and takes the loss in float32; across four
#   layers forward and back the errors add up to a few BF16_EPS (measured 2-3): 8 x BF16_EPS.
# - the autograd conv step under autocast also runs G's batch norm on bfloat16 activations, whose
#   backward subtracts per-channel means over 8 images (cancellation magnifies the roundings;
#   measured 14-21 BF16_EPS for G): 32 x BF16_EPS.
@pytest.mark.parametrize("preset,overrides,step_kind,tolerance", [
    ("tiny", MLP, MLPStep, 8 * BF16_EPS),
    ("dcgan", CONV, AutogradStep, 32 * BF16_EPS),
    ("cdcgan", CONV, AutogradStep, 32 * BF16_EPS),
], ids=["mlp-hand-written", "dcgan-autocast", "cdcgan-autocast"])
def test_first_bf16_updates_stay_close_to_fp32(preset: str, overrides: dict[str, str], step_kind: type,
                                               tolerance: float, device: str) -> None:
    kind32, g32, d32 = weight_changes(preset, overrides, "fp32", device=device)
    kind16, g16, d16 = weight_changes(preset, overrides, "bf16", device=device)
    assert kind32 is kind16 is step_kind
    for change16, change32 in ((g16, g32), (d16, d32)):
        relative = float((change16 - change32).norm() / change32.norm())
        assert 0 < relative < tolerance  # 0: the bf16 run computed in float32 after all


def test_bf16_mlp_step_multiplies_bfloat16_copies_and_keeps_float32_masters() -> None:
    s = build_state(resolve(preset="tiny", overrides={**MLP, "precision": "bf16"}))
    step = make_step(s)
    step(torch.rand(s.config.batch_size, 1, 28, 28))
    for net, net_pass in ((s.generator, step.g), (s.discriminator, step.d)):
        assert all(p.dtype == torch.float32 for p in net.parameters())
        assert all(g.dtype == torch.float32 for g in net_pass.parameter_grads)  # what Adam reads
        assert all(w.dtype == torch.bfloat16 for pair in net_pass.weights for w in pair)
    # D's copies were refreshed at its last forward (G's update), after its own update: its
    # float32 weights, rounded
    assert copies_match(step.d, s.discriminator)


def copies_match(net_pass: MLPPass, net: torch.nn.Module) -> bool:
    """The pass's bfloat16 weight copies are the net's float32 weights, rounded."""
    return all(torch.equal(w, p.to(torch.bfloat16))
               for w, p in zip([w for pair in net_pass.weights for w in pair], net.parameters()))


@pytest.mark.parametrize("has_bf16,expected", [(True, "bf16"), (False, "fp32")])
def test_auto_resolves_from_the_hardware_probe(monkeypatch: pytest.MonkeyPatch, has_bf16: bool,
                                               expected: str) -> None:
    monkeypatch.setattr(hardware, "has_bf16", lambda device: has_bf16)
    assert resolve_precision("auto", torch.device("cpu")) == expected
    assert build_state(resolve(preset="tiny", overrides={"precision": "auto"})).config.precision == expected
    for fixed in ("fp32", "bf16"):  # only auto asks the probe
        assert resolve_precision(fixed, torch.device("cpu")) == fixed
    assert compute_dtype(expected) == {"bf16": torch.bfloat16, "fp32": torch.float32}[expected]


def test_auto_keeps_fp32_on_a_gpu_even_with_bf16_hardware(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a GPU the small networks' steps wait on launches, and bf16 measured slower (0.85-0.91x)."""
    monkeypatch.setattr(hardware, "has_bf16", lambda device: True)
    assert resolve_precision("auto", torch.device("cuda")) == "fp32"
    assert resolve_precision("bf16", torch.device("cuda")) == "bf16"  # asked for, it is what one gets


def test_cpu_probe_reads_the_bf16_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    for flags, expected in (("fpu avx512f avx512_bf16", True), ("fpu amx_bf16 amx_tile", True),
                            ("fpu avx512f avx2", False)):
        monkeypatch.setattr(hardware, "cpu_flags", lambda flags=flags: set(flags.split()))
        assert hardware.has_bf16(torch.device("cpu")) is expected


def test_resume_keeps_the_recorded_precision_instead_of_probing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """auto is resolved once, on the machine that starts the run; a resume elsewhere keeps it."""
    monkeypatch.setattr(hardware, "has_bf16", lambda device: True)
    config = resolve(preset="tiny", overrides={"precision": "auto", "steps": "4", "checkpoint_every": "2",
                                               "log_every": "2", "sample_every": "2", "frame_every": "2"})
    run = train(config, out=tmp_path / "run", quiet=True)
    assert load_run_config(run).precision == "bf16"
    assert "precision = \"bf16\"" in read_checkpoint(list_checkpoints(run)[-1]).config_toml
    monkeypatch.setattr(hardware, "has_bf16", lambda device: False)  # "another machine"
    built = []
    monkeypatch.setattr(loop, "build_state",
                        lambda config, world: built.append(config.precision) or build_state(config, world))
    capsys.readouterr()
    resume(run, {"steps": 6}, quiet=True)
    assert built == ["bf16"]
    assert "emulates" in capsys.readouterr().err
    assert load_run_config(run).precision == "bf16"
    # the whole config given again, precision = "auto" as first asked (an experiment resuming its
    # runs does this): auto means the run's own resolution, here bf16, not this machine's fp32
    resume(run, {**to_dict(config), "steps": 8}, quiet=True)
    assert built == ["bf16", "bf16"] and load_run_config(run).precision == "bf16"
    with pytest.raises(ConfigError, match="precision = 'fp32'"):  # an explicit other precision: another run
        resume(run, {"precision": "fp32", "steps": 10}, quiet=True)


def test_bf16_weight_copies_are_made_again_only_when_the_weights_changed() -> None:
    s = build_state(resolve(preset="tiny", overrides={**MLP, "precision": "bf16"}))
    step = make_step(s)
    step(torch.rand(s.config.batch_size, 1, 28, 28))
    d_pass, x = step.d, torch.rand(4, 784)
    with torch.no_grad():
        d_pass.weights[0][0].fill_(7.0)  # a copy that no longer matches: kept while the weights stand still
        d_pass.forward(x)
        assert not copies_match(d_pass, s.discriminator)
        s.discriminator.load_state_dict(s.discriminator.state_dict())  # a write that counts: copied again
        d_pass.forward(x)
        assert copies_match(d_pass, s.discriminator)
        first = s.discriminator.net[0].weight
        first.data.add_(1.0)  # an in-place write that leaves the version counter, as fused Adam's
        d_pass.forward(x)
        assert not copies_match(d_pass, s.discriminator)
        d_pass.weights_updated()
        d_pass.forward(x)
        assert copies_match(d_pass, s.discriminator)


def test_the_fast_step_says_when_adam_updated_the_weights() -> None:
    """Each of the step's Adam updates is followed by `weights_updated` (fused Adam leaves the
    version counters): over two steps, every forward reads copies of the current weights."""
    s = build_state(resolve(preset="tiny", overrides={**MLP, "precision": "bf16"}))
    step = make_step(s)
    seen = []
    for net_pass, net in ((step.g, s.generator), (step.d, s.discriminator)):
        def checked(*args, net_pass=net_pass, net=net, forward=net_pass.forward, **kwargs):
            out = forward(*args, **kwargs)
            seen.append(copies_match(net_pass, net))
            return out
        net_pass.forward = checked
    for _ in range(2):
        step(torch.rand(s.config.batch_size, 1, 28, 28))
    assert seen == [True] * 6  # G once, D twice, per step


def test_without_version_counters_the_bf16_copies_are_made_at_every_forward(monkeypatch: pytest.MonkeyPatch) -> None:
    from counterfeit import private_ops

    monkeypatch.setattr(private_ops, "version_counter", lambda tensor: None)
    s = build_state(resolve(preset="tiny", overrides={**MLP, "precision": "bf16"}))
    step = make_step(s)
    step(torch.rand(s.config.batch_size, 1, 28, 28))
    with torch.no_grad():
        s.discriminator.net[0].weight.data.add_(1.0)  # a write nothing reports
        step.d.forward(torch.rand(4, 784))
    first = step.d.weights[0][0]
    assert torch.equal(first, s.discriminator.net[0].weight.to(torch.bfloat16))
