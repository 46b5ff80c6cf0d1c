"""Matrix products with the layouts training uses, and the machine's sgemm roofline.

For a Linear layer (in k, out n) on a batch of b rows the products are
    forward      (b, k) @ (k, n)     x @ W.T
    grad input   (b, n) @ (n, k)     g @ W
    grad weight  (n, b) @ (b, k)     g.T @ x
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch


@dataclass(frozen=True)
class Gemm:
    """(m, k) @ (k, n); `a_t` / `b_t`: that operand is the transpose of a contiguous tensor."""

    m: int
    k: int
    n: int
    a_t: bool = False
    b_t: bool = False
    dtype: torch.dtype = torch.float32  # of operands and output: float32, or bfloat16 (the same FLOPs)

    @property
    def flops(self) -> int:
        return 2 * self.m * self.k * self.n

    def runner(self) -> Callable[[], object]:
        a, b = _operand(self.m, self.k, self.a_t, self.dtype), _operand(self.k, self.n, self.b_t, self.dtype)
        out = torch.empty(self.m, self.n, dtype=self.dtype)
        return lambda: torch.mm(a, b, out=out)


def _operand(rows: int, cols: int, transposed: bool, dtype: torch.dtype) -> torch.Tensor:
    return torch.randn(cols, rows, dtype=dtype).t() if transposed else torch.randn(rows, cols, dtype=dtype)


ROOFLINE = Gemm(1024, 1024, 1024)  # one 1024³ sgemm: what the matrix units reach on a large, friendly product
