"""Matrix products with the layouts training uses, and the machine's sgemm roofline.

For a Linear layer (in k, out n) on a batch of b rows the products are
    forward      (b, k) @ (k, n)     x @ W.T
    grad input   (b, n) @ (n, k)     g @ W
    grad weight  (n, b) @ (b, k)     g.T @ x

A product can run through more than one kernel library on the CPU: MKL's sgemm (`torch.mm`) and
oneDNN's matmul (the fused Linear our MLP step calls, `private_ops.onednn_linear`). Which is faster
depends on the CPU and the shape (oneDNN was up to 35% faster on one AMD EPYC, docs/benchmarks.md),
so a floor that took one library would not be a floor where our step uses the other. Each
product's runner is therefore the faster of the kernels that compute it here (`fastest`), timed
as the MLP step times them (train/fast/kernels.py). On a GPU there is one library, cuBLAS
(`torch.mm`, as the step calls it there).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from counterfeit.train.fast.kernels import Product, operand
from counterfeit.train.fast.timing import Runner
from counterfeit.train.fast.timing import fastest as fastest_name


@dataclass(frozen=True)
class Gemm:
    """(m, k) @ (k, n); `a_t` / `b_t`: that operand is the transpose of a contiguous tensor."""

    m: int
    k: int
    n: int
    a_t: bool = False
    b_t: bool = False
    dtype: torch.dtype = torch.float32  # of operands and output: float32, or bfloat16 (the same FLOPs)
    device: str = "cpu"

    @property
    def flops(self) -> int:
        return 2 * self.m * self.k * self.n

    def runners(self) -> dict[str, Runner]:
        """Each kernel that computes this product here, by library, on the same operands."""
        if torch.device(self.device).type == "cpu":
            return Product(self.m, self.k, self.n, self.a_t, self.b_t, self.dtype).runners()
        a = operand(self.m, self.k, self.a_t, self.dtype, self.device)
        b = operand(self.k, self.n, self.b_t, self.dtype, self.device)
        return {"cublas": lambda: torch.mm(a, b)}

    def runner(self, choose: Callable[[dict[str, Runner]], Runner] | None = None) -> Runner:
        """The kernel `choose` picks (default: the fastest here)."""
        return (choose or fastest)(self.runners())


def fastest(kernels: dict[str, Runner]) -> Runner:
    """The kernel with the least time per call (train/fast/kernels.py times them in turns). Once
    CUDA is in use each timed call is waited for: a GPU kernel's launch returns before its work ends."""
    timed = {name: _finished(run) for name, run in kernels.items()} if torch.cuda.is_initialized() else kernels
    return kernels[fastest_name(timed)]


def _finished(run: Runner) -> Runner:
    def run_and_wait() -> None:
        run()
        torch.cuda.synchronize()
    return run_and_wait


# one 1024³ float32 product (in the faster library here): what the matrix units reach on a large, friendly product
ROOFLINE = Gemm(1024, 1024, 1024)


def roofline(device: torch.device) -> Gemm:
    """ROOFLINE on a CPU; on a GPU a product large enough to fill it (8192³: 1024³ takes a few
    microseconds there, mostly launch). float32 without TF32, as the training step runs."""
    return ROOFLINE if device.type == "cpu" else Gemm(8192, 8192, 8192, device=str(device))
