"""A matrix's transpose written out contiguous, by whichever of two copies is faster here for its shape.

oneDNN's Linear takes its input contiguous, so the weight gradient g.T @ x, handed the view g.T,
first has aten copy g.T into a fresh tensor with its transposing copy. For many of the step's
shapes a copy through a blocked view (`_blocked`: the columns taken B at a time, so each read
brings B neighbours along) takes half the time: mlp2's G output gradient, 256 x 784, 67 us against
135 with cold caches (AMD EPYC family 26). Where a row is a power of two long (1024 floats) the
blocked copy's strided reads land in the same cache sets and aten's copy is faster (193 us
against 131). So each shape is timed both ways the first time it is met; either way the copy is
exact, so the choice never changes a result and needs no remembering across runs.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from counterfeit.train.fast.timing import fastest

Copy = Callable[[Tensor, Tensor], object]  # (matrix, out): writes matrix.T into out


def _aten(matrix: Tensor, out: Tensor) -> None:
    out.copy_(matrix.t())


def _blocked(block: int) -> Copy:
    def copy(matrix: Tensor, out: Tensor) -> None:
        rows, cols = matrix.shape
        out.view(cols // block, block, rows).copy_(matrix.view(rows, cols // block, block).permute(1, 2, 0))
    return copy


class Transposer:
    """matrix -> matrix.T contiguous, in one buffer per shape, reused: the result is valid until the
    next call for the same shape. One per `MLPPass`, so two nets never share a buffer."""

    def __init__(self) -> None:
        self._plans: dict[tuple[object, ...], tuple[Copy, Tensor]] = {}

    def __call__(self, matrix: Tensor) -> Tensor:
        key = (tuple(matrix.shape), matrix.dtype, matrix.device, matrix.is_contiguous())
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = self._plan(matrix)
        copy, out = plan
        copy(matrix, out)
        return out

    @staticmethod
    def _plan(matrix: Tensor) -> tuple[Copy, Tensor]:
        rows, cols = matrix.shape
        out = torch.empty(cols, rows, dtype=matrix.dtype, device=matrix.device)
        copies: dict[str, Copy] = {"aten": _aten}
        block = next((b for b in (16, 8, 4) if cols % b == 0), None)
        if block is not None and matrix.is_contiguous() and matrix.device.type == "cpu":
            copies["blocked"] = _blocked(block)
        name = fastest({name: (lambda copy=copy: copy(matrix, out)) for name, copy in copies.items()})
        return copies[name], out
