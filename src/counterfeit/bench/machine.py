"""What a benchmark ran on: without the machine and its load, a figure means little."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

import torch


# The CPU features that decide which kernels are fast here: float32 on AVX-512, bfloat16 dot
# products (AVX512-BF16), and the AMX tile units of recent Xeons (bfloat16 matrix products).
FEATURES = {"avx512f": "AVX-512", "avx512_bf16": "AVX512-BF16", "amx_tile": "AMX"}


def _cpuinfo(key: str) -> str | None:
    """The first value of `key` in /proc/cpuinfo (Linux), or None."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            name, _, value = line.partition(":")
            if name.strip() == key:
                return value.strip()
    except OSError:
        pass
    return None


def cpu_model() -> str:
    return _cpuinfo("model name") or platform.processor() or platform.machine()


def cpu_vendor() -> str:
    return _cpuinfo("vendor_id") or platform.machine()


def cpu_features() -> list[str]:
    """Which of FEATURES this CPU has, by name."""
    flags = set((_cpuinfo("flags") or "").split())
    return [name for flag, name in FEATURES.items() if flag in flags]


def physical_cores() -> int:
    """Distinct (physical id, core id) pairs of /proc/cpuinfo; the logical CPU count elsewhere."""
    try:
        cores, physical = set(), "0"
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = (part.strip() for part in line.partition(":"))
            if key == "physical id":
                physical = value
            elif key == "core id":
                cores.add((physical, value))
        if cores:
            return len(cores)
    except OSError:
        pass
    return os.cpu_count() or 1


def load_average() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def machine_info() -> dict[str, Any]:
    return {
        "cpu": cpu_model(),
        "cpu_vendor": cpu_vendor(),
        "cpu_features": cpu_features(),
        "cores": physical_cores(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", ""),
        "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
    }
