"""Each private op's public fallback, forced by setting its probe's answer: the same numbers
(bitwise where the op is exact), and a missing or wrong op is detected."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

import pytest
import torch
from torch import nn

from counterfeit import private_ops
from counterfeit.config import resolve
from counterfeit.metrics.memorisation import nearest_squared_levels
from counterfeit.train.ema import EMA
from counterfeit.train.state import build_state
from counterfeit.train.step import make_step

PROBES = (private_ops.fused_adam_works, private_ops.foreach_lerp_works, private_ops.onednn_linear,
          private_ops.int_mm_works)
CONSTRAINTS = Path(__file__).resolve().parents[1] / "constraints.txt"


@pytest.fixture(autouse=True)
def probed_afresh() -> Iterator[None]:
    """Each test probes again, and leaves no answer it forced behind."""
    for probe in PROBES:
        probe.cache_clear()
    yield
    for probe in PROBES:
        probe.cache_clear()


def test_the_pinned_pytorch_takes_every_fast_path() -> None:
    """On the build `make` installs, no fallback is silently taken (each would cost speed)."""
    pinned = re.search(r"^torch==(\S+)$", CONSTRAINTS.read_text(), re.MULTILINE).group(1)
    if torch.__version__.split("+")[0] != pinned:
        pytest.skip(f"torch {torch.__version__} is not the pinned {pinned}: its fast paths may differ")
    assert private_ops.fused_adam_works() and private_ops.foreach_lerp_works() and private_ops.int_mm_works()
    assert private_ops.onednn_linear() is not None or not torch.backends.mkldnn.is_available()


def _train(config_overrides: dict[str, str], preset: str = "tiny", steps: int = 3):
    """The state after `steps` steps, and the step (chosen once, as the loop does)."""
    state = build_state(resolve(preset=preset, overrides={**config_overrides, "device": "cpu"}))
    step = make_step(state)
    data = torch.Generator().manual_seed(3)
    torch.manual_seed(4)
    for _ in range(steps):
        step(torch.rand(state.config.batch_size, 1, 28, 28, generator=data))
    return state, step


def _assert_close_weights(a, b, **tolerance) -> None:
    for mine, theirs in zip([*a.generator.parameters(), *a.discriminator.parameters()],
                            [*b.generator.parameters(), *b.discriminator.parameters()]):
        torch.testing.assert_close(mine, theirs, **tolerance)


def test_without_the_fused_adam_kernel_the_optimisers_are_plain_adam(monkeypatch: pytest.MonkeyPatch) -> None:
    """dcgan takes the autograd step, tiny the hand-written one: both update through adam_step."""
    for preset, overrides in (("dcgan", {"g_hidden": "8,4", "d_hidden": "4,8", "z_dim": "8", "batch_size": "8"}),
                              ("tiny", {})):
        fused, _ = _train(overrides, preset)
        with monkeypatch.context() as patch:
            patch.setattr(private_ops, "fused_adam_works", lambda: False)
            public, _ = _train(overrides, preset)
        assert fused.d_opt.param_groups[0]["fused"] and not public.d_opt.param_groups[0]["fused"]
        assert not public.g_opt.param_groups[0]["fused"]
        _assert_close_weights(fused, public, rtol=1e-5, atol=1e-7)  # fused and for-loop Adam round apart
        first = next(public.discriminator.parameters())
        assert int(public.d_opt.state[first]["step"]) == 3
        torch.testing.assert_close(public.d_opt.state[first]["exp_avg_sq"],
                                   fused.d_opt.state[next(fused.discriminator.parameters())]["exp_avg_sq"])


def test_without_oneDNN_the_hand_written_step_uses_addmm(monkeypatch: pytest.MonkeyPatch) -> None:
    """mlp2's own widths and batch: its products are large enough to take oneDNN when it is there."""
    fast, fast_step = _train({}, "mlp2")
    monkeypatch.setattr(private_ops, "onednn_linear", lambda: None)
    public, public_step = _train({}, "mlp2")
    assert fast_step.d.onednn is not None and public_step.d.onednn is None and public_step.g.onednn is None
    _assert_close_weights(fast, public, rtol=1e-5, atol=1e-6)


def test_ema_without_foreach_lerp_is_bitwise_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    model = nn.Sequential(nn.Linear(5, 4), nn.Linear(4, 3))
    fast = EMA(model, 0.9)
    monkeypatch.setattr(private_ops, "foreach_lerp_works", lambda: False)
    public = EMA(model, 0.9)
    assert public._lerp_ is private_ops.lerp_each_ and fast._lerp_ is not private_ops.lerp_each_
    for k in range(3):
        with torch.no_grad():
            for p in model.parameters():
                p.mul_(-1.5).add_(k)
        fast.update(model, 0)
        public.update(model, 0)
    for a, b in zip(fast.model.parameters(), public.model.parameters()):
        assert torch.equal(a, b)


def _pixels(n: int, seed: int) -> torch.Tensor:
    """Pixel levels / 255 as the metrics hold them; black and white rows give the extreme products."""
    levels = torch.randint(0, 256, (n, 784), generator=torch.Generator().manual_seed(seed))
    levels[0], levels[1] = 0, 255
    return levels / 255


def test_memorisation_distances_without_int_mm_are_bitwise_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    queries, points = _pixels(30, 1), _pixels(40, 2)
    fast = nearest_squared_levels(queries, points)
    monkeypatch.setattr(private_ops, "int_mm_works", lambda: False)
    assert private_ops.int_mm() is private_ops.int_mm_by_float64
    public = nearest_squared_levels(queries, points)
    q, p = (queries * 255).round().long(), (points * 255).round().long()
    brute_force = (q[:, None, :] - p[None, :, :]).square().sum(dim=2).amin(dim=1)  # int64 throughout
    assert torch.equal(fast.long(), brute_force) and torch.equal(public, fast)


def test_float64_int_mm_equals_int_mm_at_the_int8_extremes() -> None:
    a = torch.full((17, 784), -128, dtype=torch.int8)
    a[1::2] = 127
    b = a[:16].T.contiguous()
    expected = (a.long() @ b.long()).int()  # up to 784 x 128^2 = 12,845,056 per entry
    assert torch.equal(private_ops.int_mm_by_float64(a, b), expected)
    assert torch.equal(private_ops.int_mm()(a, b), expected)  # torch._int_mm on the pinned build


@pytest.mark.parametrize("op,probe", [("_fused_adam_", "fused_adam_works"), ("_foreach_lerp_", "foreach_lerp_works"),
                                      ("_int_mm", "int_mm_works")])
def test_a_missing_private_op_is_detected(monkeypatch: pytest.MonkeyPatch, op: str, probe: str) -> None:
    monkeypatch.delattr(torch, op)
    assert getattr(private_ops, probe)() is False


def test_a_private_op_with_other_numbers_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    real = torch._int_mm
    monkeypatch.setattr(torch, "_int_mm", lambda a, b: real(a, b) + 1)
    assert private_ops.int_mm() is private_ops.int_mm_by_float64


def test_without_onednn_in_the_build_there_is_no_onednn_linear(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: False)
    assert private_ops.onednn_linear() is None


def test_the_version_counter_counts_in_place_writes() -> None:
    weight = torch.zeros(3)
    before = private_ops.version_counter(weight)
    assert isinstance(before, int)
    with torch.no_grad():
        weight.copy_(torch.ones(3))
        weight.mul_(2)
    assert private_ops.version_counter(weight) == before + 2
    assert private_ops.version_counter(object()) is None  # no counter: the callers' safe path
