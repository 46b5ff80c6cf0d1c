"""What this machine's processor can do, read once from /proc/cpuinfo (Linux; empty elsewhere).

Low in the package so that the trainer (`precision = "auto"`) and the benchmark (its machine line)
read the same probe.
"""

from __future__ import annotations

import functools
import os
import platform
from pathlib import Path

import torch

# The CPU features that decide which kernels are fast here: float32 on AVX-512, bfloat16 dot
# products (AVX512-BF16), and the AMX tile units of recent Xeons (bfloat16 matrix products).
FEATURES = {"avx512f": "AVX-512", "avx512_bf16": "AVX512-BF16", "amx_tile": "AMX"}
# Either gives bfloat16 products in hardware; without both, torch emulates them in float32 (slower).
BF16_FLAGS = ("avx512_bf16", "amx_bf16")


@functools.cache
def _cpuinfo_text() -> str:
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


def _cpuinfo(key: str) -> str | None:
    """The first value of `key` in /proc/cpuinfo, or None."""
    for line in _cpuinfo_text().splitlines():
        name, _, value = line.partition(":")
        if name.strip() == key:
            return value.strip()
    return None


def cpu_flags() -> set[str]:
    return set((_cpuinfo("flags") or "").split())


def cpu_model() -> str:
    return _cpuinfo("model name") or platform.processor() or platform.machine()


def cpu_signature() -> str:
    """Model name, family and model numbers: machines sold under one name ("AMD EPYC" in a VM) can
    be different cores, and the numbers tell them apart."""
    return " ".join(part for part in (cpu_model(), _cpuinfo("cpu family"), _cpuinfo("model")) if part)


def cpu_vendor() -> str:
    return _cpuinfo("vendor_id") or platform.machine()


def cpu_features() -> list[str]:
    """Which of FEATURES this CPU has, by name."""
    flags = cpu_flags()
    return [name for flag, name in FEATURES.items() if flag in flags]


def cpu_has_bf16() -> bool:
    return any(flag in cpu_flags() for flag in BF16_FLAGS)


def has_bf16(device: torch.device) -> bool:
    """Whether `device` multiplies bfloat16 matrices in hardware."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and cpu_has_bf16()


def physical_cores() -> int:
    """Distinct (physical id, core id) pairs of /proc/cpuinfo; the logical CPU count elsewhere."""
    cores, physical = set(), "0"
    for line in _cpuinfo_text().splitlines():
        key, _, value = (part.strip() for part in line.partition(":"))
        if key == "physical id":
            physical = value
        elif key == "core id":
            cores.add((physical, value))
    return len(cores) if cores else os.cpu_count() or 1
