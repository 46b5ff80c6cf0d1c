"""What a benchmark ran on: without the machine and its load, a figure means little."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

import torch


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


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
        "cores": physical_cores(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", ""),
        "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
    }
