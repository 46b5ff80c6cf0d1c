from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from counterfeit.bench.floor import Conv, floor_runner, step_flops, step_products
from counterfeit.bench.gemm import Gemm
from counterfeit.config import resolve
from counterfeit.train.fast.kernels import MKL
from counterfeit.train.state import build_state
from counterfeit.train.step import make_step

MLP4_LIKE = {"z_dim": "20", "g_hidden": "24,32,40", "d_hidden": "40,32,24", "activation": "leaky_relu",
             "g_output": "tanh", "d_dropout": "0.3", "batch_size": "10"}
SMALL_CONV = {"g_hidden": "16,8", "d_hidden": "8,16", "batch_size": "8"}


def counted_flops_of_one_step(config, onednn_off: bool = False) -> int:
    s = build_state(config)
    step = make_step(s)
    if onednn_off:  # the FLOP counter does not know oneDNN's fused Linear; addmm/mm run the same products
        for mlp in (step.g, step.d):
            mlp.libraries = [(MKL, MKL, MKL)] * len(mlp.layers)
    labels = torch.arange(config.batch_size) % 10 if config.conditional else None
    with FlopCounterMode(display=False) as counter:
        step(torch.rand(config.batch_size, 1, 28, 28), labels)
    return counter.get_total_flops()


@pytest.mark.parametrize("overrides", [{"batch_size": "16"}, MLP4_LIKE])
def test_mlp_floor_is_exactly_the_products_our_step_runs(overrides: dict[str, str]) -> None:
    """The analytic count equals what PyTorch's own FLOP counter sees in one real step: our step
    does the floor's products and no others (no D weight grads during G's update)."""
    config = resolve(preset="mlp2", overrides=overrides)
    assert counted_flops_of_one_step(config, onednn_off=True) == step_flops(config)


@pytest.mark.parametrize("preset,overrides", [("dcgan", {}), ("cdcgan", {"aux_weight": "0"}), ("cdcgan", {})],
                         ids=["dcgan", "cdcgan-projection", "cdcgan-ac-head"])
def test_conv_floor_is_exactly_the_products_our_step_runs(preset: str, overrides: dict[str, str]) -> None:
    config = resolve(preset=preset, overrides={**SMALL_CONV, **overrides})
    assert counted_flops_of_one_step(config) == step_flops(config)


def test_self_conditioned_floor_is_the_conv_floor_plus_the_cluster_lookup() -> None:
    """With `clusters` D also judges (image, cluster) pairs; our step's one product beyond the
    floor is finding each real image's nearest centroid (batch x pixels x clusters)."""
    config = resolve(preset="best", overrides={**SMALL_CONV, "clusters": "7", "r1_gamma": "0"})  # R1: not in any floor
    lookup = 2 * config.batch_size * 784 * config.clusters
    assert counted_flops_of_one_step(config) == step_flops(config) + lookup


def ATEN_KERNELS(kernels: dict) -> object:  # noqa: N802 (a constant-like chooser)
    """The kernels PyTorch's FLOP counter sees (aten.mm, aten.convolution): oneDNN's Linear, which
    the floor may pick where it is faster, is an op the counter does not know."""
    return kernels.get("mkl") or kernels["nchw"]


@pytest.mark.parametrize("preset,overrides", [("tiny", {}), ("dcgan", SMALL_CONV), ("cdcgan", SMALL_CONV)])
def test_floor_runner_runs_every_product_with_its_shape(preset: str, overrides: dict[str, str]) -> None:
    config = resolve(preset=preset, overrides=overrides)
    products = step_products(config)
    run = floor_runner(products, choose=ATEN_KERNELS)
    with FlopCounterMode(display=False) as counter:
        run()
    assert counter.get_total_flops() == step_flops(config)
    assert len({p for p in products if isinstance(p, Gemm)}) > 4
    assert any(isinstance(p, Conv) for p in products) == (preset != "tiny")


def test_conv_shapes_and_flops_by_hand() -> None:
    """dcgan's first D layer at batch 2: Conv2d(1 -> 8, 4, stride 2, pad 1) maps 28x28 to 14x14."""
    conv = Conv((2, 1, 28, 28), (8, 1, 4, 4), (2, 2), (1, 1), False, (0, 0), forward=True)
    assert conv.output_shape() == (2, 8, 14, 14)
    assert conv.flops == 2 * 2 * 14 * 14 * 8 * 16
    up = Conv((2, 16, 7, 7), (16, 8, 4, 4), (2, 2), (1, 1), True, (0, 0), forward=False, input_grad=True,
              weight_grad=True)
    assert up.output_shape() == (2, 8, 14, 14)
    assert up.flops == 2 * (2 * 2 * 7 * 7 * 16 * 8 * 16)


@pytest.mark.parametrize("preset,overrides", [("mlp2", MLP4_LIKE), ("cdcgan", SMALL_CONV)])
def test_bf16_floor_runs_the_same_products_in_bfloat16(preset: str, overrides: dict[str, str]) -> None:
    """The bf16 floor is the fp32 floor's products, shape for shape, on bfloat16 operands: the
    same FLOPs, so the two floors' speeds compare directly."""
    fp32 = resolve(preset=preset, overrides={**overrides, "precision": "fp32"})
    bf16 = fp32.replace(precision="bf16")
    assert step_flops(bf16) == step_flops(fp32) > 0
    products = step_products(bf16)
    assert {p.dtype for p in products} == {torch.bfloat16}
    assert [replace(p, dtype=torch.float32) for p in products] == step_products(fp32)
    run = floor_runner(products, choose=ATEN_KERNELS)
    with FlopCounterMode(display=False) as counter:
        run()
    assert counter.get_total_flops() == step_flops(fp32)
