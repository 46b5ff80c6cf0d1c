"""An MLP's forward and backward pass written out by hand.

For the fully connected presets autograd's bookkeeping, fresh allocations and separate bias,
activation and dropout kernels cost as much as a third of a step on a laptop CPU. A Linear
layer's calculus is three matrix products, so we run them ourselves:

    forward      y = act(x @ W.T + b) * mask          (mask: dropout's keep / (1 - p), or none)
    backward     g_z = act'(.) * mask * g_y            (from y itself: act is monotone, y > 0 iff z > 0)
                 g_W = g_z.T @ x,  g_b = sum(g_z),  g_x = g_z @ W

On the CPU each product goes through MKL (`torch.addmm`/`torch.mm`) or oneDNN's matmul (PyTorch's
fused Linear, what its compiler emits for Linear layers, with the bias and activation fused into the
forward), whichever measured faster for that product on this machine (`kernels.py`: the choice is
made once per machine and remembered, so runs stay reproducible). On CUDA, or where this PyTorch
lacks oneDNN's Linear (`private_ops.onednn_linear`), everything is `torch.addmm`/`torch.mm`.

In bfloat16 (`precision = "bf16"`), `MLPPass.dtype` is the one place that decides: every product
takes bfloat16 operands (the weights and biases cast into preallocated copies at each forward, i.e.
once per update of them; the activations, masks and backpropagated gradients stored in bfloat16),
while what the optimiser sees stays float32: the master weights are the module's own, and the
weight and bias gradients are written into float32 buffers (a bias gradient summed in float32).
The loss and its gradient at the logits are computed by the step in float32 from the logits.

`MLPPass` holds one net's layers and buffers; the parameters are the module's own (read at each
call), so loading a checkpoint or averaging gradients needs nothing here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import Tensor, nn

from counterfeit import private_ops
from counterfeit.train.fast.kernels import MKL, ONEDNN, KernelChoices, Product
from counterfeit.train.fast.transpose import Transposer

ACTIVATIONS = {nn.ReLU: "relu", nn.LeakyReLU: "leaky_relu", nn.Sigmoid: "sigmoid", nn.Tanh: "tanh"}



@dataclass(frozen=True)
class Layer:
    linear: nn.Linear
    activation: str | None  # a key of ACTIVATIONS' values, or None for a raw output (logits)
    slope: float = 0.0  # LeakyReLU's negative slope
    dropout: float = 0.0


def layers_of(net: nn.Sequential) -> list[Layer] | None:
    """The Linear -> activation [-> Dropout] pattern of `net`, or None if it holds anything else."""
    layers: list[Layer] = []
    for module in net:
        if isinstance(module, nn.Linear):
            layers.append(Layer(module, None))
        elif type(module) in ACTIVATIONS and layers and layers[-1].activation is None:
            slope = module.negative_slope if isinstance(module, nn.LeakyReLU) else 0.0
            layers[-1] = Layer(layers[-1].linear, ACTIVATIONS[type(module)], slope)
        elif isinstance(module, nn.Dropout) and layers and layers[-1].activation in ("relu", "leaky_relu"):
            layers[-1] = Layer(layers[-1].linear, layers[-1].activation, layers[-1].slope, module.p)
        else:
            return None
    return layers or None


class MLPPass:
    """One net's forward and backward by hand; gradient and mask buffers allocated once."""

    def __init__(self, layers: list[Layer], rows: int, device: torch.device,
                 dtype: torch.dtype = torch.float32, mask_rows: int | None = None) -> None:
        """`rows`: the most rows one forward sees; `mask_rows`: how many rows of dropout masks one
        `draw_masks` may draw, for several forwards (default `rows`)."""
        self.layers = layers
        self.dtype = dtype  # of the products, activations and backpropagated gradients
        self.onednn = private_ops.onednn_linear() if device.type == "cpu" else None
        # per layer, the library of its (forward, input gradient, weight gradient) products
        self.libraries = _libraries(layers, rows, dtype) if self.onednn is not None else [(MKL,) * 3 for _ in layers]
        widths = [layer.linear.out_features for layer in layers]
        self.outputs: list[Tensor] = []  # of the last forward, kept for its backward
        self.used_masks: list[Tensor | None] = []  # the mask rows the last forward applied
        # the gradient at each layer's output, turned in place into that at its pre-activation
        self.grads = [torch.empty(rows, n, device=device, dtype=dtype) for n in widths]
        self.masks = [torch.empty(mask_rows or rows, n, device=device, dtype=dtype) if layer.dropout else None
                      for layer, n in zip(layers, widths)]
        self.parameter_grads = [torch.empty_like(p) for p in self.parameters]  # float32, for Adam
        # the (weight, bias) the products use: the module's own in float32, copies in bfloat16
        self.weights = [(layer.linear.weight, layer.linear.bias) if dtype == torch.float32 else
                        (torch.empty_like(layer.linear.weight, dtype=dtype), torch.empty_like(layer.linear.bias, dtype=dtype))
                        for layer in layers]
        # True: dropout masks from nn.Dropout's own (serial) Bernoulli draws, equal to the
        # textbook loop's; False: the same distribution from a vectorised generator (below)
        self.exact_dropout = False
        self.transpose = Transposer()  # g.T for oneDNN's weight gradients (it takes its input contiguous)
        self._copied: list[tuple[int, int]] | None = None  # what `self.weights` were copied from (bfloat16)

    @property
    def parameters(self) -> list[Tensor]:
        """In the module's own order (weight, bias per layer): the order of its optimiser's params."""
        return [p for layer in self.layers for p in (layer.linear.weight, layer.linear.bias)]

    def draw_masks(self, blocks: list[slice]) -> None:
        """Dropout's masks for the mask rows of each of `blocks` (consecutive, in the order
        nn.Dropout would draw them: one block per forward), drawn from torch's global RNG (so
        they are checkpointed and differ per process as nn.Dropout's do): keep ~ Bernoulli(1 - p),
        then / (1 - p), as nn.Dropout computes them.

        The vectorised draw takes all blocks at once, one generator and one pass per layer: drawn
        a block at a time, the seedings and small operations cost mlp4 about 0.3 ms a step more
        (1.45 ms against 1.1-1.15, measured inside the step, where the products cool the caches)."""
        dropouts = [(mask, layer.dropout) for layer, mask in zip(self.layers, self.masks) if mask is not None]
        if self.exact_dropout or any(mask.device.type != "cpu" for mask, _ in dropouts):
            for block in blocks:  # nn.Dropout's own draws, number for number
                for mask, p in dropouts:
                    mask[block].bernoulli_(1 - p).div_(1 - p)
        elif dropouts:
            assert all(a.stop == b.start for a, b in zip(blocks, blocks[1:])), "blocks must be consecutive"
            _bernoulli_masks([(mask[blocks[0].start:blocks[-1].stop], p) for mask, p in dropouts])

    def forward(self, x: Tensor, first_mask_row: int = 0) -> Tensor:
        """The net on `x` (rows, in), applying the masks drawn for mask rows `first_mask_row`
        onwards, in `dtype`. Call under no_grad (this is where the weights' copies are refreshed,
        if they changed: see `weights_updated`)."""
        rows = slice(first_mask_row, first_mask_row + x.shape[0])
        self.outputs = []
        self.used_masks = [mask[rows] if mask is not None else None for mask in self.masks]
        self._refresh_weights()
        x = x.to(self.dtype)
        for i, (layer, mask, (weight, bias)) in enumerate(zip(self.layers, self.used_masks, self.weights)):
            x = self._linear(i, x, layer, weight, bias)
            if mask is not None:
                x.mul_(mask)
            self.outputs.append(x)
        return x

    def backward(self, x: Tensor, grad: Tensor, *, parameter_grads: bool, input_grad: bool,
                 rows: slice = slice(None)) -> tuple[list[Tensor], Tensor | None]:
        """From the gradient at the output of `rows` of the last `forward(x)` back to the input:
        the parameter gradients (buffers, valid until the next backward) and the gradient at
        x[rows]. Under no_grad."""
        n = grad.shape[0]
        grad, x = grad.to(self.dtype), x.to(self.dtype)  # (the float32 gradient of the loss at the logits)
        for i in reversed(range(len(self.layers))):
            layer, mask, y = self.layers[i], self.used_masks[i], self.outputs[i][rows]
            g = self.grads[i][:n]
            if mask is not None:  # dropout's backward, then the activation's, as autograd
                torch.mul(grad, mask[rows], out=g)
                grad = g
            _activation_backward(grad, y, layer, out=g)
            if parameter_grads:
                self._weight_grad(i, g, (self.outputs[i - 1] if i > 0 else x)[rows])
                torch.sum(g, 0, dtype=torch.float32, out=self.parameter_grads[2 * i + 1])
            if i > 0 or input_grad:
                grad = self._times_weight(i, g, self.weights[i][0])
        return (self.parameter_grads if parameter_grads else []), (grad if input_grad else None)

    def weights_updated(self) -> None:
        """Say that the weights were changed in place by a write that leaves their version counters
        alone, as torch's fused Adam does: the next forward copies them again. Writes that count
        (load_state_dict, copy_) are seen without it."""
        self._copied = None

    def _refresh_weights(self) -> None:
        """In bfloat16, the weights' copies, made again only if the weights changed since the last
        copy: D's forward in G's update and in the next step's first D update read the same
        weights, and copying them once saves mlp4 0.2 ms a step."""
        if self.dtype == torch.float32:
            return
        stamp = [(p.data_ptr(), private_ops.version_counter(p)) for p in self.parameters]
        if stamp != self._copied:
            for layer, (weight, bias) in zip(self.layers, self.weights):
                weight.copy_(layer.linear.weight)
                bias.copy_(layer.linear.bias)
            # without version counters nothing says a write happened: copy at every forward
            self._copied = stamp if all(version is not None for _, version in stamp) else None

    def _weight_grad(self, i: int, g: Tensor, x: Tensor) -> None:
        """g.T @ x as layer i's float32 weight gradient (in bfloat16: the product rounded once, then
        widened into its buffer). oneDNN's float32 product, a new tensor, becomes the gradient
        itself: copying it into the buffer moved every weight's size through memory once more
        (mlp4: 2.9 M floats a step). oneDNN gets g.T written out by `Transposer`, faster than the
        copy it would make of the view itself (mlp2: 0.05-0.13 ms a step, timed in the step)."""
        out = self.parameter_grads[2 * i]
        if self.libraries[i][2] == ONEDNN:
            product = self.onednn(self.transpose(g), x.t(), None, "none", [], "")
            if product.dtype == out.dtype:
                self.parameter_grads[2 * i] = product
            else:
                out.copy_(product)
        elif self.dtype == torch.float32:
            torch.mm(g.t(), x, out=out)
        else:
            out.copy_(torch.mm(g.t(), x))

    def _linear(self, i: int, x: Tensor, layer: Layer, weight: Tensor, bias: Tensor) -> Tensor:
        """act(x @ W.T + b), a new tensor."""
        if self.libraries[i][0] == ONEDNN:
            attr = layer.activation or "none"
            return self.onednn(x, weight, bias, attr, [layer.slope] if attr == "leaky_relu" else [], "")
        y = torch.addmm(bias, x, weight.t())
        _activate_(y, layer)
        return y

    def _times_weight(self, i: int, g: Tensor, weight: Tensor) -> Tensor:
        """g @ W, a new tensor (in oneDNN: its Linear with W.T as its weight, a view, no copy)."""
        if self.libraries[i][1] == ONEDNN:
            return self.onednn(g, weight.t(), None, "none", [], "")
        return torch.mm(g, weight)


def _libraries(layers: list[Layer], rows: int, dtype: torch.dtype) -> list[tuple[str, ...]]:
    """Per layer, the library (kernels.py) of its forward, input-gradient and weight-gradient
    products at `rows` rows, laid out as this pass calls them."""
    products = []
    for layer in layers:
        n, k = layer.linear.weight.shape  # (out, in)
        products += [Product(rows, k, n, False, True, dtype),   # x @ W.T
                     Product(rows, n, k, False, False, dtype),  # g @ W
                     Product(n, rows, k, True, False, dtype)]   # g.T @ x
    libraries = KernelChoices().libraries(products)
    return [tuple(libraries[i:i + 3]) for i in range(0, len(libraries), 3)]


def _bernoulli_masks(masks: list[tuple[Tensor, float]]) -> None:
    """Masks of Bernoulli(1 - p) / (1 - p) on the CPU, several times faster than `bernoulli_`, which
    draws one double per element from a serial Mersenne Twister (5 ms a step for mlp4's 0.5 M
    mask entries). One 64-bit seed from torch's global RNG starts numpy's PCG64; each entry is kept
    when a uniform 32-bit number falls below round((1 - p) 2^32): probability 1 - p to within 2^-32,
    decided from a byte of it almost always (`_keep`). The work is numpy's, where a comparison or
    a bool-times-number pass over these sizes takes a third of torch's time."""
    rng = np.random.PCG64(int(torch.randint(0, 2**62, (1,))))
    sizes = [mask.numel() for mask, _ in masks]
    top_bytes = rng.random_raw((sum(sizes) + 7) // 8).view(np.uint8)
    start = 0
    for (mask, p), size in zip(masks, sizes):
        keep = _keep(top_bytes[start:start + size], round((1 - p) * 2**32), rng.random_raw)
        start += size
        # nn.Dropout's 1 / (1 - p), computed in float32 as it does, held in the mask's dtype; the
        # mask is keep times its bit pattern, as integers of the same width (numpy has no bfloat16,
        # and 0 is +0.0's pattern): 27 us for 0.3 M bfloat16 entries where torch's bool-times-scale took 315
        scale = torch.ones(()).div_(1 - p).to(mask.dtype)
        bits = _SAME_WIDTH_INT[mask.dtype]
        np.multiply(keep.reshape(mask.shape), scale.view(bits).numpy(), out=mask.view(bits).numpy())


_SAME_WIDTH_INT = {torch.float32: torch.int32, torch.bfloat16: torch.int16}


def _keep(top_bytes: np.ndarray, threshold: int, draw: Callable[[int], np.ndarray]) -> np.ndarray:
    """u < threshold for uniform 32-bit numbers u, given the top byte of each: the byte alone
    decides unless it equals the threshold's (1 time in 256), and only there are u's other 24 bits
    drawn (`draw(n)`: n uniform 64-bit words). The same decisions as drawing every u whole, from a
    quarter of the random bits."""
    threshold = min(threshold, 2**32 - 1)
    top, rest = threshold >> 24, threshold & 0xFFFFFF
    keep = top_bytes < top
    ties = np.flatnonzero(top_bytes == top)
    keep[ties] = (draw(len(ties)) & 0xFFFFFF) < rest
    return keep


def _activate_(y: Tensor, layer: Layer) -> None:
    if layer.activation == "relu":
        torch.relu_(y)
    elif layer.activation == "leaky_relu":
        torch.nn.functional.leaky_relu_(y, layer.slope)
    elif layer.activation == "sigmoid":
        torch.sigmoid_(y)
    elif layer.activation == "tanh":
        torch.tanh_(y)


def _activation_backward(grad: Tensor, y: Tensor, layer: Layer, out: Tensor) -> None:
    if layer.activation == "relu":
        torch.ops.aten.threshold_backward.grad_input(grad, y, 0.0, grad_input=out)
    elif layer.activation == "leaky_relu":
        torch.ops.aten.leaky_relu_backward.grad_input(grad, y, layer.slope, True, grad_input=out)
    elif layer.activation == "sigmoid":
        torch.ops.aten.sigmoid_backward.grad_input(grad, y, grad_input=out)
    elif layer.activation == "tanh":
        torch.ops.aten.tanh_backward.grad_input(grad, y, grad_input=out)
    elif out is not grad:
        out.copy_(grad)
