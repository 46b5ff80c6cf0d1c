"""Which library multiplies each matrix product of the hand-written MLP step: measured, once per
machine, and remembered.

Two libraries in a CPU build of PyTorch multiply matrices: MKL (`torch.mm`, `torch.addmm`) and
oneDNN (its fused Linear, `private_ops.onednn_linear`). Which is faster depends on the CPU and the
shape. On the project's first AMD EPYC, oneDNN was 10-35% faster for the forward products and the
input gradients and not for the weight gradients; on its AMD EPYC of family 26, oneDNN is about
twice as fast as MKL for all three (docs/benchmarks.md); Intel CPUs are MKL's home ground. So no
rule of thumb: each product of a run (its shape, which operand is transposed, its dtype) is timed
in both libraries the first time this machine meets it, and the faster one is used.

The choices are kept in the cache folder (`kernels-v<METHOD>-<cpu>-<torch>.json`, home.py): every later run
on this machine makes the same choices, so a run's arithmetic (the two libraries round
differently) never depends on a timing, and a resumed run continues bit-exactly. Where the cache
cannot be written, the choices hold for the process only.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import torch

from counterfeit import hardware, private_ops
from counterfeit.errors import UserError
from counterfeit.fileio import atomic_write_text
from counterfeit.home import cache_dir
from counterfeit.train.fast.timing import Runner, fastest
from counterfeit.train.fast.transpose import Transposer

MKL, ONEDNN = "mkl", "onednn"
# How choices are measured; a new way names a new cache file, so choices made the old way are made
# again. 3 (2026-11-30): oneDNN's weight gradients get their transposed operand from a `Transposer`,
# as the step now feeds them. 2 (2026-11-30): the median of 9 calls (`timing.fastest`), both
# libraries allocating their output. Before, the best of 3 with MKL writing into a preallocated
# one: on a family-26 AMD EPYC it chose MKL for mlp4's 512x100x256 weight gradient, 188 us in
# the step against oneDNN's 118.
METHOD = 3


@dataclass(frozen=True)
class Product:
    """(m, k) @ (k, n) in `dtype`, operands laid out as the step passes them: `a_t` / `b_t` means
    that operand is the transpose (a view) of a contiguous tensor."""

    m: int
    k: int
    n: int
    a_t: bool
    b_t: bool
    dtype: torch.dtype

    @property
    def key(self) -> str:
        layout = ("T" if self.a_t else "N") + ("T" if self.b_t else "N")
        return f"{str(self.dtype).removeprefix('torch.')}:{self.m}x{self.k}x{self.n}:{layout}"

    def runners(self) -> dict[str, Runner]:
        """The product in each library available here, on the same operands."""
        a = operand(self.m, self.k, self.a_t, self.dtype)
        b = operand(self.k, self.n, self.b_t, self.dtype)
        # Each library returns a new tensor: a choice must not hinge on one of them being spared
        # the allocation (a fresh output of a few MB can cost more in page faults than the product).
        kernels: dict[str, Runner] = {MKL: lambda: torch.mm(a, b)}
        onednn = private_ops.onednn_linear()
        if onednn is not None:  # a @ b as oneDNN's Linear with weight b.T (a view), as the step calls it:
            # a transposed `a` written out contiguous first, by the copy that is fastest for its shape
            left = (lambda transpose=Transposer(): transpose(a.t())) if self.a_t else (lambda: a)
            kernels[ONEDNN] = lambda: onednn(left(), b.t(), None, "none", [], "")
        return kernels


class KernelChoices:
    """product key -> library, backed by this machine's cache file."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else choices_path()
        self.choices: dict[str, str] = _read(self.path)

    def library(self, product: Product) -> str:
        """The library for `product`: the remembered one, else measured now (and remembered)."""
        return self.libraries([product])[0]

    def libraries(self, products: list[Product]) -> list[str]:
        """The library of each of `products`; those not yet remembered are measured, and the cache
        file is rewritten once for all of them."""
        if private_ops.onednn_linear() is None:
            return [MKL] * len(products)
        new = {p.key: fastest(p.runners()) for p in products if self.choices.get(p.key) not in (MKL, ONEDNN)}
        if new:
            self.choices = {**_read(self.path), **new}  # beside what other runs wrote meanwhile
            _write(self.path, self.choices)
        return [self.choices[p.key] for p in products]


def choices_path() -> Path:
    """One file per CPU model and torch version: either changes the kernels' speeds."""
    cpu = hardware.cpu_signature()
    slug = re.sub(r"[^A-Za-z0-9.]+", "-", f"{cpu}-torch-{torch.__version__}").strip("-")
    return cache_dir() / f"kernels-v{METHOD}-{slug}.json"


def _read(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and v in (MKL, ONEDNN)} if isinstance(data, dict) else {}


def _write(path: Path, choices: dict[str, str]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(choices, indent=1, sort_keys=True) + "\n")
    except (OSError, UserError):
        pass  # a read-only cache: the choices hold for this process


def operand(rows: int, cols: int, transposed: bool, dtype: torch.dtype, device: str = "cpu") -> torch.Tensor:
    """A (rows, cols) operand as the step passes it: the transpose (a view) of a contiguous tensor,
    or contiguous itself."""
    # A generator of its own: timing a product must not draw from torch's global RNG, which the run
    # that measures (and not the later ones, which read the choices) would otherwise see advanced.
    rng = torch.Generator(device).manual_seed(0)
    values = torch.randn(cols, rows, generator=rng, device=device).to(dtype)
    return values.t() if transposed else values.t().contiguous()
