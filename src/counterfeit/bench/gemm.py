"""The GEMM floor: the matrix products one step's maths cannot avoid, and nothing else.

For a Linear layer (in k, out n) on a batch of b rows the products are
    forward      (b, k) @ (k, n)     x @ W.T
    grad input   (b, n) @ (n, k)     g @ W
    grad weight  (n, b) @ (b, k)     g.T @ x
One textbook step (separate D passes over real and fake, batch b each) needs:
    D update: G forward; D forward on real and on fake; D backward on both (grad weight of every
              layer, grad input of every layer but the first: images need no gradient)
    G update: G forward, D forward; D backward (grad input of every layer; D's weight grads are
              not part of the maths, the textbook computes and discards them); G backward (grad
              weight of every layer, grad input of every layer but the first: z needs no gradient)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from counterfeit.config import Config
from counterfeit.models.mlp import IMAGE_PIXELS


@dataclass(frozen=True)
class Gemm:
    """(m, k) @ (k, n); `a_t` / `b_t`: that operand is the transpose of a contiguous tensor."""

    m: int
    k: int
    n: int
    a_t: bool = False
    b_t: bool = False

    @property
    def flops(self) -> int:
        return 2 * self.m * self.k * self.n


def _widths(config: Config) -> tuple[list[int], list[int]]:
    return ([config.z_dim, *config.g_hidden, IMAGE_PIXELS], [IMAGE_PIXELS, *config.d_hidden, 1])


def _forward(widths: list[int], b: int) -> list[Gemm]:
    return [Gemm(b, k, n, b_t=True) for k, n in zip(widths, widths[1:])]


def _backward(widths: list[int], b: int, weight_grads: bool, first_input_grad: bool) -> list[Gemm]:
    gemms = []
    for i, (k, n) in reversed(list(enumerate(zip(widths, widths[1:])))):
        if weight_grads:
            gemms.append(Gemm(n, b, k, a_t=True))
        if i > 0 or first_input_grad:
            gemms.append(Gemm(b, n, k))
    return gemms


def step_gemms(config: Config) -> list[Gemm]:
    g, d, b = *_widths(config), config.batch_size
    d_update = (_forward(g, b) + _forward(d, b) + _forward(d, b)
                + 2 * _backward(d, b, weight_grads=True, first_input_grad=False))
    g_update = (_forward(g, b) + _forward(d, b) + _backward(d, b, weight_grads=False, first_input_grad=True)
                + _backward(g, b, weight_grads=True, first_input_grad=False))
    return d_update + g_update


def step_flops(config: Config) -> int:
    return sum(gemm.flops for gemm in step_gemms(config))


def _operand(rows: int, cols: int, transposed: bool) -> torch.Tensor:
    return torch.randn(cols, rows).t() if transposed else torch.randn(rows, cols)


def gemm_runner(gemms: list[Gemm]) -> Callable[[], None]:
    """Runs the products back to back into preallocated outputs, with the layouts training uses."""
    operands = [(_operand(g.m, g.k, g.a_t), _operand(g.k, g.n, g.b_t), torch.empty(g.m, g.n)) for g in gemms]

    def run() -> None:
        for a, b, out in operands:
            torch.mm(a, b, out=out)

    return run


ROOFLINE = Gemm(1024, 1024, 1024)


def roofline_runner() -> Callable[[], None]:
    """One 1024³ sgemm: what this machine's matrix units reach on a large, friendly product."""
    return gemm_runner([ROOFLINE])
