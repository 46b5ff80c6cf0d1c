"""The transposes handed to oneDNN's weight gradients: exact, whichever copy is chosen."""

from __future__ import annotations

import pytest
import torch

from counterfeit.train.fast import transpose
from counterfeit.train.fast.transpose import Transposer


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("shape", [(256, 784), (200, 1024), (100, 30), (7, 5)])
def test_both_copies_write_the_exact_transpose(shape: tuple[int, int], dtype: torch.dtype) -> None:
    matrix = torch.randn(*shape).to(dtype)
    copies = [transpose._aten] + [transpose._blocked(b) for b in (16, 8, 4, 2) if shape[1] % b == 0]
    assert len(copies) > 1 or shape[1] % 2  # the blocked copy is tested wherever a block fits
    for copy in copies:
        out = torch.full((shape[1], shape[0]), float("nan"), dtype=dtype)
        copy(matrix, out)
        assert torch.equal(out, matrix.t())


def test_a_transposer_reuses_one_buffer_per_shape_and_keeps_shapes_apart() -> None:
    transposer = Transposer()
    a, b, c = torch.randn(64, 48), torch.randn(64, 48), torch.randn(32, 48)
    first = transposer(a)
    assert torch.equal(first, a.t()) and first.is_contiguous()
    second = transposer(b)
    assert second.data_ptr() == first.data_ptr() and torch.equal(second, b.t())
    third = transposer(c)
    assert third.data_ptr() != first.data_ptr() and torch.equal(third, c.t()) and torch.equal(second, b.t())


def test_a_strided_matrix_is_transposed_by_aten_copy() -> None:
    """The blocked copy views its input's memory; a strided one (a column slice) must not reach it."""
    wide = torch.randn(40, 64)
    strided = wide[:, :32]
    transposer = Transposer()
    assert torch.equal(transposer(strided), strided.t())
    assert torch.equal(transposer(wide[:, 32:]), wide[:, 32:].t())  # same shape, other memory
    assert transposer._plans[((40, 32), torch.float32, torch.device("cpu"), False)][0] is transpose._aten


def test_the_faster_copy_is_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    picked = []

    def fake_fastest(kernels: dict) -> str:
        picked.append(sorted(kernels))
        return "blocked"

    monkeypatch.setattr(transpose, "fastest", fake_fastest)
    transposer = Transposer()
    matrix = torch.randn(24, 32)
    assert torch.equal(transposer(matrix), matrix.t())
    assert torch.equal(transposer(matrix * 2), (matrix * 2).t())
    assert picked == [["aten", "blocked"]]  # timed once per shape
    copy, _ = transposer._plans[((24, 32), torch.float32, torch.device("cpu"), True)]
    assert copy is not transpose._aten
