"""PyTorch's private ops that our fast paths call, each with the public path it falls back to.

An underscored op carries no promise from one PyTorch release to the next (pyproject accepts any
torch >= 2.4), and some builds lack one (no oneDNN, say). So each is tried once per process, the
first time it is needed, on a tiny input against its public twin; where it is missing, raises or
disagrees, the public path is used from then on. Callers take the choice when they build an
optimiser, a module or a metric's loop, never inside a training step, so it costs a step nothing.

    private op                           caller                    public fallback
    torch._fused_adam_, _foreach_add_    train/adam.py             Adam(fused=False).step()
    torch._foreach_lerp_                 train/ema.py              Tensor.lerp_ per tensor (bitwise equal)
    torch.ops.mkldnn._linear_pointwise   train/fast/mlp_pass.py    torch.addmm + activation, torch.mm
    torch._int_mm                        metrics/memorisation.py   float64 matmul (exact here: bitwise equal)
    Tensor._version (an attribute, read  train/fast/mlp_pass.py    bf16 weight copies made at every forward
      at each bf16 forward: no op runs)

(The `torch.ops.aten.*_backward` ops of train/fast/mlp_pass.py are ATen's public, non-underscored
operators, the ones autograd itself calls; they need no fallback.)
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import torch
from torch import Tensor


def _works(check: Callable[[], bool]) -> bool:
    try:
        return bool(check())
    except Exception:  # missing (AttributeError), no kernel in this build (RuntimeError,
        return False  # NotImplementedError), a changed signature (TypeError): the public path


# --- Adam: the kernel of Adam(fused=True), called directly on the optimiser's own state ---------

def fused_adam_(group: dict[str, Any], params: list[Tensor], grads: list[Tensor],
                states: list[dict[str, Tensor]]) -> None:
    """One Adam update of `params` (one param group, state already created by a first
    `optimizer.step()`), as `torch.optim.Adam(fused=True).step()` computes it. Each parameter, its
    gradient and its state must share one memory layout (train/adam.py sees to it)."""
    steps = [state["step"] for state in states]
    torch._foreach_add_(steps, 1)
    beta1, beta2 = group["betas"]
    torch._fused_adam_(params, grads, [s["exp_avg"] for s in states], [s["exp_avg_sq"] for s in states], [],
                       steps, amsgrad=group["amsgrad"], lr=group["lr"], beta1=beta1,
                       beta2=beta2, weight_decay=group["weight_decay"], eps=group["eps"],
                       maximize=group["maximize"], grad_scale=None, found_inf=None)


@functools.cache
def fused_adam_works() -> bool:
    """Whether `Adam(fused=True)` and `fused_adam_` run here and update as the for-loop Adam does."""
    return _works(_fused_adam_agrees)


def _fused_adam_agrees() -> bool:
    start, grad = torch.tensor([0.5, -1.0, 2.0]), torch.tensor([0.3, -0.2, 0.1])
    ours, theirs = start.clone().requires_grad_(), start.clone().requires_grad_()
    fused = torch.optim.Adam([ours], lr=0.1, fused=True)
    plain = torch.optim.Adam([theirs], lr=0.1, foreach=False)
    for _ in range(2):
        theirs.grad = grad.clone()
        plain.step()
    ours.grad = grad.clone()
    fused.step()  # creates the state, as adam_step's first update does
    fused_adam_(fused.param_groups[0], [ours], [grad], [fused.state[ours]])
    return float(fused.state[ours]["step"]) == 2 and torch.allclose(ours, theirs)


# --- an exponential moving average: start <- start + weight (end - start), tensor by tensor -------

@functools.cache
def foreach_lerp_works() -> bool:
    """Whether `torch._foreach_lerp_` runs here and equals `Tensor.lerp_` bit for bit."""
    return _works(_foreach_lerp_agrees)


def _foreach_lerp_agrees() -> bool:
    starts, ends = [torch.tensor([1.0, 2.0]), torch.tensor([-3.0])], [torch.tensor([0.5, 4.0]), torch.tensor([7.0])]
    ours = [t.clone() for t in starts]
    torch._foreach_lerp_(ours, ends, 0.1)
    return all(torch.equal(a, s.lerp(e, 0.1)) for a, s, e in zip(ours, starts, ends))


def lerp_each_(starts: list[Tensor], ends: list[Tensor], weight: float) -> None:
    for start, end in zip(starts, ends):
        start.lerp_(end, weight)


def lerp_() -> Callable[[list[Tensor], list[Tensor], float], None]:
    """start <- start + weight (end - start) for each pair: one fused op over all, or one per pair."""
    return torch._foreach_lerp_ if foreach_lerp_works() else lerp_each_


# --- oneDNN's fused Linear (+ activation): what PyTorch's compiler emits for Linear on the CPU ---

@functools.cache
def onednn_linear() -> Callable[..., Tensor] | None:
    """`torch.ops.mkldnn._linear_pointwise` where it runs here and agrees with addmm, else None
    (callers then use torch.addmm and torch.mm)."""
    op = getattr(getattr(torch.ops, "mkldnn", None), "_linear_pointwise", None)
    return op if torch.backends.mkldnn.is_available() and _works(lambda: _onednn_agrees(op)) else None


def _onednn_agrees(op: Callable[..., Tensor]) -> bool:
    x, grad = torch.tensor([[1.0, -2.0, 0.5]]), torch.tensor([[0.5, -4.0]])
    weight, bias = torch.tensor([[0.5, 0.25, -1.0], [-1.0, 0.5, 2.0]]), torch.tensor([0.1, -0.2])
    # the two forms mlp_pass calls: act(x W^T + b), and g W with W^T as the weight (a strided view)
    activated = op(x, weight, bias, "leaky_relu", [0.2], "")
    times_weight = op(grad, weight.t(), None, "none", [], "")
    return (torch.allclose(activated, torch.nn.functional.leaky_relu(torch.addmm(bias, x, weight.t()), 0.2))
            and torch.allclose(times_weight, grad @ weight))


# --- a tensor's version counter: how many in-place writes it has had -----------------------------

def version_counter(tensor: Tensor) -> int | None:
    """The counter autograd keeps to detect in-place writes (every write through torch's dispatcher
    bumps it; torch's fused Adam kernel does not), or None where this PyTorch has none."""
    version = getattr(tensor, "_version", None)
    return version if isinstance(version, int) else None


# --- int8 x int8 -> int32 matrix products (pixel distances) ---------------------------------------

@functools.cache
def int_mm_works() -> bool:
    """Whether `torch._int_mm` runs here and equals an int64 matrix product."""
    return _works(_int_mm_agrees)


def _int_mm_agrees() -> bool:
    a = torch.arange(-128, 128, 4, dtype=torch.int8).reshape(4, 16)  # the extremes included
    b = torch.arange(127, -129, -2, dtype=torch.int8).reshape(16, 8)
    return torch.equal(torch._int_mm(a, b), (a.long() @ b.long()).int())


def int_mm_by_float64(a: Tensor, b: Tensor) -> Tensor:
    """a @ b for int8 matrices, as int32, exactly: while the result fits in int32 (as _int_mm's
    must), every product and partial sum is an integer below 2^31, which float64 holds exactly
    whatever the order of summation. BLAS's dgemm is much faster than an int64 product."""
    return (a.double() @ b.double()).int()


def int_mm() -> Callable[[Tensor, Tensor], Tensor]:
    """int8 (m, k) @ int8 (k, n) -> exact int32 (m, n)."""
    return torch._int_mm if int_mm_works() else int_mm_by_float64
