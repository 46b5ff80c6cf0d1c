"""One Adam update from a list of gradients, with as little Python around the kernel as possible.

On these small models `Optimizer.step` spends longer in Python (hooks, grouping, checks) than its
fused kernel takes, so after the first update we call that kernel directly on the optimiser's own
state: the maths, the state and the `state_dict` (checkpoints) are those of `torch.optim.Adam`.
"""

from __future__ import annotations

import torch
from torch import Tensor


def adam_step(optimizer: torch.optim.Adam, grads: list[Tensor]) -> None:
    (group,) = optimizer.param_groups
    params = group["params"]
    states = [optimizer.state.get(p) for p in params]
    if not group["fused"] or not all(states):  # the first update creates the state; other paths
        for p, grad in zip(params, grads):
            p.grad = grad
        optimizer.step()
        for p in params:
            p.grad = None  # grads live only for the update: no memory held, no zero_grad needed
        return
    steps = [state["step"] for state in states]
    torch._foreach_add_(steps, 1)
    beta1, beta2 = group["betas"]
    torch._fused_adam_(params, grads, [s["exp_avg"] for s in states], [s["exp_avg_sq"] for s in states], [],
                       steps, amsgrad=group["amsgrad"], lr=group["lr"], beta1=beta1, beta2=beta2,
                       weight_decay=group["weight_decay"], eps=group["eps"], maximize=group["maximize"],
                       grad_scale=None, found_inf=None)
