from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from counterfeit.config import resolve
from counterfeit.models.mlp import MLPDiscriminator, MLPGenerator
from counterfeit.private_ops import onednn_linear
from counterfeit.train.fast import MLPStep
from counterfeit.train.step import AutogradStep, make_step
from counterfeit.train.fast import mlp_pass, transpose
from counterfeit.train.fast.kernels import MKL, ONEDNN
from counterfeit.train.fast.mlp_pass import MLPPass, layers_of
from counterfeit.train.state import build_state


LIBRARY_MIXES = [(MKL, MKL, MKL), (ONEDNN, ONEDNN, ONEDNN), (ONEDNN, MKL, ONEDNN), (MKL, ONEDNN, MKL)]


@pytest.mark.parametrize("libraries", LIBRARY_MIXES, ids=["-".join(mix) for mix in LIBRARY_MIXES])
@pytest.mark.parametrize("activation,output", [("relu", "sigmoid"), ("leaky_relu", "tanh")])
@pytest.mark.parametrize("copy", ["aten", "blocked"])
def test_hand_written_backward_equals_autograd(activation: str, output: str, libraries: tuple[str, ...], copy: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Parameter and input gradients of a generator-shaped net, against autograd's, whichever
    library (kernels.py) runs each of its (forward, input gradient, weight gradient) products, and
    whichever copy writes out oneDNN's transposed operands (the blocked one where a width allows)."""
    if ONEDNN in libraries and onednn_linear() is None:
        pytest.skip("this PyTorch has no oneDNN Linear")
    monkeypatch.setattr(transpose, "fastest", lambda copies: copy if copy in copies else "aten")
    torch.manual_seed(0)
    net = MLPGenerator(6, [9, 7], activation=activation, output=output).net
    x, upstream = torch.randn(5, 6), torch.randn(5, 784)
    expected = torch.autograd.grad((net(x.requires_grad_()) * upstream).sum(), [*net.parameters(), x])

    mlp = MLPPass(layers_of(net), rows=8, device=torch.device("cpu"))  # more rows than used
    mlp.libraries = [libraries] * len(mlp.layers)
    with torch.no_grad():  # as the step calls them
        y = mlp.forward(x.detach())
        torch.testing.assert_close(y, net(x))
        grads, x_grad = mlp.backward(x.detach(), upstream, parameter_grads=True, input_grad=True)
    for got, want in zip([*grads, x_grad], expected):
        torch.testing.assert_close(got, want)


def test_dropout_backward_equals_autograd_with_the_same_masks() -> None:
    net = MLPDiscriminator([12, 10], activation="leaky_relu", dropout=0.4).net.train()
    mlp = MLPPass(layers_of(net), rows=6, device=torch.device("cpu"))
    mlp.exact_dropout = True  # nn.Dropout's own draws: the same masks from the same RNG state
    x = torch.randn(6, 784)
    torch.manual_seed(3)
    expected_out = net(x.requires_grad_())
    expected = torch.autograd.grad(expected_out.sum(), [*net.parameters(), x])
    torch.manual_seed(3)
    mlp.draw_masks([slice(0, 6)])
    with torch.no_grad():
        out = mlp.forward(x.detach())
        torch.testing.assert_close(out, expected_out.detach())
        grads, x_grad = mlp.backward(x.detach(), torch.ones(6, 1), parameter_grads=True, input_grad=True)
    for got, want in zip([*grads, x_grad], expected):
        torch.testing.assert_close(got, want)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_fast_dropout_masks_are_bernoulli_from_the_global_rng(dtype: torch.dtype) -> None:
    net = MLPDiscriminator([1000, 500], dropout=0.3).net
    mlp = MLPPass(layers_of(net), rows=200, device=torch.device("cpu"), dtype=dtype)
    torch.manual_seed(5)
    mlp.draw_masks([slice(0, 200)])
    first = [m.clone() for m in mlp.masks if m is not None]
    scale = torch.ones(()).div_(0.7).to(dtype)  # nn.Dropout's 1 / (1 - p) in float32, held in the mask's dtype
    for mask in first:
        assert mask.dtype == dtype and set(mask.unique().tolist()) == {0.0, scale.item()}
        assert (mask > 0).float().mean().item() == pytest.approx(0.7, abs=0.005)  # 100k+ draws: ~0.0015 sd
    torch.manual_seed(5)  # the same global RNG state gives the same masks (checkpoints hold it)...
    mlp.draw_masks([slice(0, 200)])
    assert all(torch.equal(a, b) for a, b in zip(first, [m for m in mlp.masks if m is not None]))
    mlp.draw_masks([slice(0, 200)])  # ...and the next draw others
    assert not torch.equal(first[0], mlp.masks[0])
    assert not torch.equal(first[0][:100], first[0][100:])  # rows are not repeated


def test_a_top_byte_decides_unless_it_ties_the_thresholds() -> None:
    """_keep decides u < threshold for 32-bit u from u's top byte, drawing u's other 24 bits only
    where that byte equals the threshold's: the same decisions as comparing whole numbers."""
    threshold = (179 << 24) | 0x333333
    # whole 32-bit numbers below, at and above the threshold, around its top byte
    whole = np.array([(178 << 24) | 0xFFFFFF, (179 << 24) | 0x333332, (179 << 24) | 0x333333,
                      (179 << 24), (180 << 24), 0, 2**32 - 1], dtype=np.uint64)
    draws: list[int] = []

    def draw(n: int) -> np.ndarray:  # the low 24 bits of the ties, in order, above 24 bits of noise
        draws.append(n)
        return (whole[(whole >> 24) == 179] & 0xFFFFFF) | (np.uint64(0xABCDEF) << np.uint64(24))

    keep = mlp_pass._keep((whole >> 24).astype(np.uint8), threshold, draw)
    assert keep.tolist() == (whole < threshold).tolist() == [True, True, False, True, False, True, False]
    assert draws == [3]  # only the three ties drew more bits
    # p too small for 32 bits: threshold 2^32 is held at 2^32 - 1, comparable with a byte
    assert mlp_pass._keep(np.array([255, 254], dtype=np.uint8), 2**32, lambda n: np.zeros(n, np.uint64)).tolist() == [True, True]


@pytest.mark.parametrize("overrides,used", [
    ({}, True),
    ({"loss": "hinge"}, True),
    ({"loss": "wgan-gp"}, False),  # the penalty needs D's second derivatives: autograd
    ({"precision": "bf16"}, True),
], ids=["mlp2", "hinge", "wgan-gp", "bf16"])
def test_hand_written_step_is_used_where_it_applies(overrides: dict[str, str], used: bool) -> None:
    assert isinstance(make_step(build_state(resolve(preset="mlp2", overrides=overrides))), MLPStep) is used


def test_conditional_and_convolutional_nets_take_the_autograd_path() -> None:
    for preset in ("dcgan", "cgan"):
        assert isinstance(make_step(build_state(resolve(preset=preset))), AutogradStep)
    assert layers_of(nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))) is None
