"""What a benchmark ran on: without the machine and its load, a figure means little."""

from __future__ import annotations

import os
from typing import Any

import torch

from counterfeit.hardware import cpu_features, cpu_model, cpu_vendor, physical_cores


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
