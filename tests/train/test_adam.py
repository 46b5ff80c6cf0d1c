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
