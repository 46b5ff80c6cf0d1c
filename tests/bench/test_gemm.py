from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from counterfeit.bench.gemm import gemm_runner, step_flops, step_gemms
from counterfeit.config import resolve
from counterfeit.train.state import build_state
from counterfeit.train.step import make_step

MLP4_LIKE = {"z_dim": "20", "g_hidden": "24,32,40", "d_hidden": "40,32,24", "activation": "leaky_relu",
             "g_output": "tanh", "d_dropout": "0.3", "batch_size": "10"}


@pytest.mark.parametrize("overrides", [{"batch_size": "16"}, MLP4_LIKE])
def test_floor_is_exactly_the_matrix_products_our_step_runs(overrides: dict[str, str]) -> None:
    """The analytic count equals what PyTorch's own FLOP counter sees in one real step: our step
    does the floor's products and no others (no D weight grads during G's update)."""
    config = resolve(preset="mlp2", overrides=overrides)
    s = build_state(config)
    # the FLOP counter does not know oneDNN's fused Linear: without it the hand-written step runs
    # the same products (same shapes, same count) through addmm/mm, which it counts
    step = make_step(s)
    step.g.onednn = step.d.onednn = None
    with FlopCounterMode(display=False) as counter:
        step(torch.rand(config.batch_size, 1, 28, 28))
    assert counter.get_total_flops() == step_flops(config)


def test_floor_runner_runs_every_product_with_its_shape() -> None:
    config = resolve(preset="tiny")
    gemms = step_gemms(config)
    with FlopCounterMode(display=False) as counter:
        gemm_runner(gemms)()
    assert counter.get_total_flops() == step_flops(config)
    assert len({(g.m, g.k, g.n) for g in gemms}) > 4
