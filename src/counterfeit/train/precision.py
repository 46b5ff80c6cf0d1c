"""Which number format a run's products use: `precision` resolved once, at the start of a run.

    fp32   float32 throughout
    bf16   matrix products and convolutions in bfloat16 (8 significant bits); the master weights,
           their gradients and Adam's moments stay float32, so small updates are not rounded away
    auto   bf16 on a CPU that multiplies bfloat16 in hardware (AVX512-BF16 or AMX), else fp32;
           fp32 on a GPU (resolve_precision says why)

`auto` is resolved when the state is built, and the resolved value is what config.toml and the
checkpoints record: a resumed run reads it back instead of probing again, so a run moved to
another machine keeps its arithmetic (bf16 without the hardware still runs, emulated by torch).
"""

from __future__ import annotations

import sys

import torch

from counterfeit import hardware

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


def resolve_precision(precision: str, device: torch.device) -> str:
    """`precision` with `auto` replaced by what this device does fast: bf16 on a CPU with bfloat16
    hardware; fp32 on a GPU. The toolkit's networks are too small to keep a GPU's matrix units
    busy: its step waits on kernel launches, not arithmetic, and bf16's casts add launches (on an
    H200 bf16 ran 0.85-0.91x fp32's steps/s for all four bench presets, docs/benchmarks.md)."""
    if precision != "auto":
        return precision
    return "bf16" if device.type == "cpu" and hardware.has_bf16(device) else "fp32"


def compute_dtype(precision: str) -> torch.dtype:
    """The dtype of the products for a resolved precision."""
    return DTYPES[precision]


def warn_if_emulated(precision: str, device: torch.device) -> None:
    """One line on stderr when a run recorded as bf16 continues on a device without bf16 hardware."""
    if precision == "bf16" and not hardware.has_bf16(device):
        print(f"precision: this run trains in bf16, which this {device.type.upper()} has no hardware for; "
              "torch emulates it (same arithmetic, slower)", file=sys.stderr)
