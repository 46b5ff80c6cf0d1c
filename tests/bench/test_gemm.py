"""The floor's kernels: every kernel of a product computes that product, and the floor takes the
fastest of them."""

from __future__ import annotations

import pytest
import torch

from counterfeit import private_ops
from counterfeit.bench.floor import Conv
from counterfeit.bench.gemm import Gemm


@pytest.mark.parametrize("a_t, b_t", [(False, True), (True, False), (False, False)])
def test_every_kernel_of_a_product_computes_it(a_t: bool, b_t: bool) -> None:
    gemm = Gemm(5, 7, 3, a_t=a_t, b_t=b_t)  # not square: a transposed operand would not fit
    kernels = gemm.runners()
    assert ("onednn" in kernels) == (private_ops.onednn_linear() is not None)
    results = {name: kernel() for name, kernel in kernels.items()}
    assert all(r.shape == (5, 3) for r in results.values())
    for result in results.values():
        torch.testing.assert_close(result, results["mkl"])


@pytest.mark.parametrize("forward", [True, False])
@pytest.mark.parametrize("transposed", [False, True])
def test_a_convolution_computes_the_same_in_either_layout(forward: bool, transposed: bool) -> None:
    weight = (8, 4, 4, 4) if transposed else (4, 8, 4, 4)  # (in, out, k, k) transposed, else (out, in, k, k)
    conv = Conv((2, 8, 7, 7), weight, (2, 2), (1, 1), transposed, (0, 0), forward,
                input_grad=not forward, weight_grad=not forward)
    before = torch.get_rng_state()
    nchw = conv._runner(torch.contiguous_format)()
    nhwc = conv._runner(torch.channels_last)()  # the same operands, laid out channels-last
    assert torch.equal(torch.get_rng_state(), before)  # torch's global RNG untouched
    pairs = [(nchw, nhwc)] if forward else list(zip(nchw[:2], nhwc[:2]))  # (grad input, grad weight)
    for a, b in pairs:
        assert a.shape == b.shape
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
