"""The floor of a step: the weight products (matrix products and convolutions) that one textbook
step's maths cannot avoid, and nothing else, run back to back through the same ATen ops.

Every Linear, Conv2d and ConvTranspose2d layer of G and D is found by running each network once on
a batch, and contributes per pass over b rows:
    forward      the layer's product
    grad input   the product that carries the gradient to the layer's input
    grad weight  the product that gives the weight's gradient
One textbook step (separate D passes over real and fake, batch b each) needs:
    D update: G forward; D forward on real and on fake; D backward on both (grad weight of every
              layer, grad input of every layer but the first: images need no gradient)
    G update: G forward, D forward; D backward (grad input of every layer; D's weight grads are
              not part of the maths, the textbook computes and discards them); G backward (grad
              weight of every layer, grad input of every layer but the first: z needs no gradient)
With n_critic > 1 the D update counts n_critic times. An AC-GAN head's backward on fake rows in
D's update is counted, though its output enters no loss there: D returns one tensor that the step
slices, so autograd runs that backward on zeros, as the textbook does (a few MFLOP).
Each grad of a convolution costs as many FLOPs as its forward (PyTorch's FLOP counter agrees; a
test checks the whole count against it on our step). With precision bf16 the same products run on
bfloat16 operands: the bf16 floor of the same FLOPs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor, nn

from counterfeit.bench.gemm import Gemm, Runner, fastest
from counterfeit.config import Config
from counterfeit.models import build_discriminator, build_generator
from counterfeit.models.conditional import call_generator
from counterfeit.train.precision import compute_dtype, resolve_precision

PRODUCT_LAYERS = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)


@dataclass(frozen=True)
class Layer:
    module: nn.Module  # one of PRODUCT_LAYERS
    input_shape: tuple[int, ...]  # what it sees at batch b


@dataclass(frozen=True)
class Conv:
    """A convolution's forward, or its backward for the input and/or the weight gradient."""

    input_shape: tuple[int, ...]
    weight_shape: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    transposed: bool
    output_padding: tuple[int, ...]
    forward: bool
    input_grad: bool = False
    weight_grad: bool = False
    dtype: torch.dtype = torch.float32
    device: str = "cpu"

    def output_shape(self) -> tuple[int, ...]:
        n, _, *spatial = self.input_shape
        k = self.weight_shape[2:]
        if self.transposed:
            out = [(s - 1) * st - 2 * p + kk + op
                   for s, st, p, kk, op in zip(spatial, self.stride, self.padding, k, self.output_padding)]
            return (n, self.weight_shape[1], *out)
        return (n, self.weight_shape[0], *[(s + 2 * p - kk) // st + 1
                                           for s, st, p, kk in zip(spatial, self.stride, self.padding, k)])

    @property
    def flops(self) -> int:
        """2 x (positions the kernel visits) x (weights): on the output grid for a convolution, on
        the input grid for a transposed one."""
        grid = self.input_shape if self.transposed else self.output_shape()
        one = 2 * grid[0] * math.prod(grid[2:]) * math.prod(self.weight_shape)
        return one if self.forward else one * (int(self.input_grad) + int(self.weight_grad))

    def runners(self) -> dict[str, Runner]:
        """The convolution on NCHW tensors and on channels-last ones (the layout our float32 conv
        step keeps its weights in): oneDNN's kernels for the two layouts differ in speed by shape."""
        return {layout: self._runner(fmt) for layout, fmt in
                (("nchw", torch.contiguous_format), ("channels_last", torch.channels_last))}

    def _runner(self, layout: torch.memory_format) -> Runner:
        # A generator of its own, seeded alike for both layouts (the same operands in each), as
        # `kernels.operand`'s: building a floor must not advance torch's global RNG, which the step
        # timed beside it draws dropout masks from.
        rng = torch.Generator(self.device).manual_seed(0)

        def tensor(shape: tuple[int, ...]) -> Tensor:
            values = torch.randn(shape, generator=rng, device=self.device).to(self.dtype)
            return values.contiguous(memory_format=layout)

        x, w = tensor(self.input_shape), tensor(self.weight_shape)
        args = (self.stride, self.padding, (1,) * len(self.stride), self.transposed, self.output_padding, 1)
        if self.forward:
            return lambda: torch.ops.aten.convolution(x, w, None, *args)
        grad = tensor(self.output_shape())
        mask = [self.input_grad, self.weight_grad, False]
        return lambda: torch.ops.aten.convolution_backward(grad, x, w, None, *args, mask)

    def runner(self, choose: Callable[[dict[str, Runner]], Runner] | None = None) -> Runner:
        """The layout `choose` picks (default: the fastest here)."""
        return (choose or fastest)(self.runners())


Product = Gemm | Conv


def trace_layers(module: nn.Module, *inputs: Tensor) -> list[Layer]:
    """The product layers of `module` in the order one forward pass calls them, with their inputs' shapes."""
    layers: list[Layer] = []
    hooks = [m.register_forward_hook(lambda m, args, out: layers.append(Layer(m, tuple(args[0].shape))))
             for m in module.modules() if isinstance(m, PRODUCT_LAYERS)]
    try:
        with torch.no_grad():
            module(*inputs)
    finally:
        for hook in hooks:
            hook.remove()
    return layers


def _products(layer: Layer, forward: bool, weight_grad: bool, input_grad: bool, dtype: torch.dtype,
              device: str) -> list[Product]:
    m = layer.module
    if isinstance(m, nn.Linear):
        rows, k, n = math.prod(layer.input_shape[:-1]), m.in_features, m.out_features
        return ([Gemm(rows, k, n, b_t=True, dtype=dtype, device=device)] if forward else []) + \
               ([Gemm(n, rows, k, a_t=True, dtype=dtype, device=device)] if weight_grad else []) + \
               ([Gemm(rows, n, k, dtype=dtype, device=device)] if input_grad else [])
    conv = dict(input_shape=layer.input_shape, weight_shape=tuple(m.weight.shape), stride=tuple(m.stride),
                padding=tuple(m.padding), transposed=isinstance(m, nn.ConvTranspose2d),
                output_padding=tuple(m.output_padding), dtype=dtype, device=device)
    if forward:
        return [Conv(**conv, forward=True)]
    return [Conv(**conv, forward=False, input_grad=input_grad, weight_grad=weight_grad)] if weight_grad or input_grad else []


def _forward(layers: list[Layer], dtype: torch.dtype, device: str) -> list[Product]:
    return [p for layer in layers for p in _products(layer, True, False, False, dtype, device)]


def _backward(layers: list[Layer], weight_grads: bool, first_input_grad: bool, dtype: torch.dtype,
              device: str) -> list[Product]:
    return [p for i, layer in reversed(list(enumerate(layers)))
            for p in _products(layer, False, weight_grads, i > 0 or first_input_grad, dtype, device)]


def step_products(config: Config, device: torch.device = torch.device("cpu")) -> list[Product]:
    """On `device`, in the config's precision (`auto` as on that device): bfloat16 products count
    the same FLOPs."""
    dtype = compute_dtype(resolve_precision(config.precision, device))
    on = str(device)
    b = config.batch_size
    generator, discriminator = build_generator(config), build_discriminator(config)
    z, labels = torch.zeros(b, config.z_dim), torch.zeros(b, dtype=torch.long)
    g_labels = labels if config.conditional else None
    # A self-conditioned D judges (image, cluster) pairs too; its nearest-centroid product is not counted.
    d_labels = [labels] if config.conditional or config.clusters else []
    g = trace_layers(generator, z, *([g_labels] if g_labels is not None else []))
    fake = call_generator(generator.eval(), z, g_labels).detach()
    d = trace_layers(discriminator, fake, *d_labels)
    d_update = (_forward(g, dtype, on) + 2 * _forward(d, dtype, on)
                + 2 * _backward(d, weight_grads=True, first_input_grad=False, dtype=dtype, device=on))
    g_update = (_forward(g, dtype, on) + _forward(d, dtype, on)
                + _backward(d, weight_grads=False, first_input_grad=True, dtype=dtype, device=on)
                + _backward(g, weight_grads=True, first_input_grad=False, dtype=dtype, device=on))
    return config.n_critic * d_update + g_update


def step_flops(config: Config) -> int:
    return sum(product.flops for product in step_products(config))


def floor_runner(products: list[Product],
                 choose: Callable[[dict[str, Runner]], Runner] | None = None) -> Callable[[], None]:
    """Runs every product back to back, each on preallocated operands of its own shape, each through
    the fastest kernel that computes it here (`gemm.fastest`: MKL or oneDNN on a CPU, cuBLAS on a
    GPU; NCHW or channels-last)."""
    runners = [p.runner(choose) for p in products]

    def run() -> None:
        for runner in runners:
            runner()

    return run
