from __future__ import annotations

import pytest
import torch

from counterfeit.train.adam import adam_step


@pytest.mark.parametrize("fused", [True, False])
def test_adam_step_equals_optimizer_step_bitwise(fused: bool) -> None:
    torch.manual_seed(0)
    ours, theirs = torch.nn.Linear(5, 3), torch.nn.Linear(5, 3)
    theirs.load_state_dict(ours.state_dict())
    opt_ours = torch.optim.Adam(ours.parameters(), lr=1e-2, betas=(0.5, 0.99), eps=1e-7, fused=fused)
    opt_theirs = torch.optim.Adam(theirs.parameters(), lr=1e-2, betas=(0.5, 0.99), eps=1e-7, fused=fused)
    for i in range(4):
        x = torch.randn(8, 5)
        adam_step(opt_ours, list(torch.autograd.grad(ours(x).square().sum(), list(ours.parameters()))))
        opt_theirs.zero_grad()
        theirs(x).square().sum().backward()
        opt_theirs.step()
    for a, b in zip(ours.parameters(), theirs.parameters()):
        assert torch.equal(a, b) and a.grad is None
    assert torch.equal(opt_ours.state_dict()["state"][0]["exp_avg_sq"],
                       opt_theirs.state_dict()["state"][0]["exp_avg_sq"])
    assert float(opt_ours.state_dict()["state"][0]["step"]) == 4


@pytest.mark.parametrize("fused", [True, False])
def test_a_channels_last_weight_takes_nchw_gradients_and_state(fused: bool) -> None:
    """The fused kernel walks weight, gradient and state as flat memory: a channels-last weight with
    an NCHW gradient (after the all-reduce) or NCHW state (from a checkpoint) must still pair each
    element with its own. The oracle: the same updates on NCHW tensors with the for-loop Adam."""
    torch.manual_seed(0)
    start, grads = torch.randn(4, 3, 2, 2), [torch.randn(4, 3, 2, 2) for _ in range(3)]
    ours = torch.nn.Parameter(start.contiguous(memory_format=torch.channels_last))
    theirs = torch.nn.Parameter(start.clone())
    opt_ours = torch.optim.Adam([ours], lr=0.1, fused=fused)
    opt_theirs = torch.optim.Adam([theirs], lr=0.1, foreach=False)
    for i, grad in enumerate(grads):
        adam_step(opt_ours, [grad.clone()])  # NCHW gradient, channels-last weight
        theirs.grad = grad.clone()
        opt_theirs.step()
        if i == 0:  # as a resume leaves it: the state read back in NCHW
            opt_ours.load_state_dict(opt_ours.state_dict() | {"state": {0: {
                k: v.contiguous() for k, v in opt_ours.state_dict()["state"][0].items()}}})
            assert opt_ours.state[ours]["exp_avg"].stride() != ours.stride()  # the case under test
    torch.testing.assert_close(ours.detach(), theirs.detach(), rtol=1e-6, atol=1e-7)
    assert ours.is_contiguous(memory_format=torch.channels_last)
