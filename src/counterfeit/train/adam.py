"""One Adam update from a list of gradients, with as little Python around the kernel as possible.

On these small models `Optimizer.step` spends longer in Python (hooks, grouping, checks) than its
fused kernel takes, so after the first update we call that kernel directly on the optimiser's own
state: the maths, the state and the `state_dict` (checkpoints) are those of `torch.optim.Adam`.
Where this PyTorch cannot (`private_ops.fused_adam_works`), the optimisers are built unfused and
every update is `optimizer.step()`.
"""

from __future__ import annotations

import torch
from torch import Tensor

from counterfeit import private_ops


def adam_step(optimizer: torch.optim.Adam, grads: list[Tensor]) -> None:
    (group,) = optimizer.param_groups
    params = group["params"]
    grads = [same_layout(g, p) for g, p in zip(grads, params)]
    states = [optimizer.state.get(p) for p in params]
    if not group["fused"] or not all(states):  # the first update creates the state; other paths
        for p, grad in zip(params, grads):
            p.grad = grad
        optimizer.step()
        for p in params:
            p.grad = None  # grads live only for the update: no memory held, no zero_grad needed
        return
    for p, state in zip(params, states):  # an NCHW state read back from a checkpoint: relaid once
        for key in ("exp_avg", "exp_avg_sq"):
            state[key] = same_layout(state[key], p)
    private_ops.fused_adam_(group, params, grads, states)


def same_layout(tensor: Tensor, like: Tensor) -> Tensor:
    """`tensor` in `like`'s memory layout. The fused Adam kernel (torch's own `Adam(fused=True)`
    too) walks a parameter, its gradient and its state as flat memory, so a channels-last weight
    with an NCHW gradient (e.g. after the all-reduce) or an NCHW state (read from a checkpoint)
    would be updated element against the wrong element, silently."""
    return tensor if tensor.stride() == like.stride() else torch.empty_like(like).copy_(tensor)
