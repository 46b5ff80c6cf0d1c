"""One interleaved run: the sgemm roofline, then per preset and precision (float32, bfloat16) its GEMM
floor and our step, and per preset the (float32) textbook step; all on one device, the CPU or a GPU."""

from __future__ import annotations

import statistics
from functools import partial
from typing import Any, Callable

import torch

from counterfeit.bench.floor import floor_runner, step_flops, step_products
from counterfeit.bench.gemm import roofline
from counterfeit.bench.machine import load_average, machine_info
from counterfeit.bench.textbook import textbook_state, textbook_step
from counterfeit.bench.timing import interleave, median_ratio
from counterfeit.config import Config
from counterfeit.data.loading import load_dataset
from counterfeit.data.sampler import InMemorySampler, to_pixels
from counterfeit.errors import UserError
from counterfeit.models.selfcond import copy_clusters, fit_clusters
from counterfeit.seeds import Stream, stream_seed
from counterfeit.train.device import resolve_device
from counterfeit.train.state import TrainState, build_state
from counterfeit.train.step import make_step


def _real_images(config: Config, device: torch.device) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The config's training images as the loop holds them (and their labels for a conditional
    model): loaded once per config, shared by its steppers (stacked-mnist's pool is 1.2 GB)."""
    dataset = load_dataset(config.data, config.invert, config.skip_bad, config.seed, config.stacked_size)
    labels = torch.from_numpy(dataset.labels).to(device) if config.conditional else None
    return to_pixels(dataset.images, config.pixel_range).to(device), labels


def _stepper(config: Config, state: TrainState, step: Callable[[torch.Tensor, torch.Tensor | None], Any],
             real: tuple[torch.Tensor, torch.Tensor | None], fitted: TrainState | None = None) -> Callable[[], None]:
    """A step as the loop runs it: a batch of the `real` images (with their labels for a
    conditional model) from the in-memory sampler, then the update. A self-conditioned model's
    clusters are fitted first, as a fresh run's are, so D sorts the real images into clusters as in
    training, not all into one; or copied from `fitted`, a state of the same config already fitted
    (k-means is the same fit for every precision, and takes seconds)."""
    pixels, labels = real
    if config.clusters and fitted is None:
        fit_clusters(state.generator, state.discriminator, pixels, stream_seed(config.seed, Stream.CLUSTERS))
    elif config.clusters:
        copy_clusters(state.generator, state.discriminator, fitted.generator, fitted.discriminator)
    sampler = InMemorySampler(pixels, config.batch_size, seed=stream_seed(config.seed, Stream.BATCHES), labels=labels)
    return lambda: step(*sampler.next_labelled())


def _textbook_call(s: TrainState, real: torch.Tensor, labels: torch.Tensor | None) -> None:
    textbook_step(real, s, labels)


PRECISIONS = ("fp32", "bf16")


def bench_device(configs: list[Config]) -> torch.device:
    """The one device every config trains on (`auto` resolved as a run resolves it)."""
    devices = {resolve_device(config.device).type for config in configs}
    if len(devices) > 1:
        raise UserError(f"device: the configs train on {' and '.join(sorted(devices))}; bench measures one "
                        "device at a time (give --device)")
    return resolve_device(configs[0].device)


def bench(configs: list[Config], seconds: float = 3.0, rounds: int = 20,
          threads: int | None = None, precisions: tuple[str, ...] = PRECISIONS) -> list[dict[str, Any]]:
    """Each candidate gets `seconds` in all, as `rounds` interleaved windows; one result per config
    and precision. Each precision's floor is its own (the same products in that dtype); the
    textbook step is the tutorials' float32 loop for every row. Everything runs on the configs'
    device: on a GPU the floor's products are cuBLAS's and cuDNN's, the roofline a larger sgemm."""
    if threads:
        torch.set_num_threads(threads)
    device = bench_device(configs)
    top = roofline(device)
    candidates: dict[str, Callable[[], object]] = {"roofline": top.runner()}
    for i, config in enumerate(configs):
        real, fitted = None, None
        for precision in precisions:
            variant = config.replace(precision=precision)
            ours = build_state(variant)
            real = real or _real_images(config, ours.device)
            candidates[f"{i}/{precision}/floor"] = floor_runner(step_products(variant, device))
            candidates[f"{i}/{precision}/ours"] = _stepper(variant, ours, make_step(ours), real, fitted)
            fitted = fitted or ours
        reference = textbook_state(config.replace(precision="fp32"))
        real = real or _real_images(config, reference.device)
        textbook = partial(_textbook_call, reference)
        candidates[f"{i}/textbook"] = _stepper(config, reference, textbook, real, fitted)
    sync = torch.cuda.synchronize if device.type == "cuda" else None
    samples = interleave(candidates, seconds, rounds, sync=sync)
    times = {name: statistics.median(values) for name, values in samples.items()}
    roofline_gflops = top.flops / times["roofline"] / 1e9
    machine, load = {**machine_info(), "device": device.type, "roofline_size": top.m}, load_average()
    results = []
    for i, config in enumerate(configs):
        flops = step_flops(config)  # the same in every precision
        for precision in precisions:
            name = f"{i}/{precision}"
            ours, floor, textbook = times[f"{name}/ours"], times[f"{name}/floor"], times[f"{i}/textbook"]
            results.append({
                "preset": config.preset,
                "precision": precision,
                "batch_size": config.batch_size,
                "steps_per_s": round(1 / ours, 2),
                "images_per_s": round(config.batch_size / ours, 1),
                "gflop_per_step": round(flops / 1e9, 4),
                "gflops": round(flops / ours / 1e9, 2),
                "roofline_gflops": round(roofline_gflops, 2),
                "roofline_fraction": round(flops / ours / 1e9 / roofline_gflops, 3),
                "floor_steps_per_s": round(1 / floor, 2),
                "gemm_floor_fraction": round(median_ratio(samples[f"{name}/floor"], samples[f"{name}/ours"]), 3),
                "textbook_steps_per_s": round(1 / textbook, 2),
                "speedup": round(median_ratio(samples[f"{i}/textbook"], samples[f"{name}/ours"]), 3),
                # ours in this precision against ours in float32, paired per round (None: fp32 not measured)
                "vs_fp32": (round(median_ratio(samples[f"{i}/fp32/ours"], samples[f"{name}/ours"]), 3)
                            if "fp32" in precisions else None),
                # ours in this precision against the float32 products alone, paired per round: above 1,
                # a step faster than the float32 step's matrix products (the mission's measure;
                # in float32 the floor fraction itself)
                "vs_fp32_floor": (round(median_ratio(samples[f"{i}/fp32/floor"], samples[f"{name}/ours"]), 3)
                                  if "fp32" in precisions else None),
                **machine,
                "load_1min": load,
            })
    return results


def format_table(results: list[dict[str, Any]]) -> str:
    """A human-readable summary: the machine once, then one line per preset."""
    if not results:
        return ""
    first = results[0]
    lines = [f"{first['cpu']} ({first['cpu_vendor']}; {', '.join(first['cpu_features']) or 'no AVX-512'}), "
             f"{first['cores']} cores, {first['threads']} torch threads "
             f"(OMP_WAIT_POLICY={first['omp_wait_policy'] or 'unset'}), torch {first['torch']}"
             + (f", {first['cuda']}" if first["cuda"] else ""),
             f"measured on the {'GPU' if first.get('device') == 'cuda' else 'CPU'}; sgemm roofline "
             f"({first.get('roofline_size', 1024)}³): {first['roofline_gflops']:.1f} GFLOP/s; 1-min load average "
             f"{first['load_1min']} (other jobs may share the cores)",
             "",
             f"{'preset':<10} {'dtype':<5} {'steps/s':>8} {'images/s':>9} {'GFLOP/s':>8} {'roofline':>9} "
             f"{'floor st/s':>10} {'floor frac':>10} {'textbook':>9} {'speedup':>8} {'vs fp32':>8} "
             f"{'vs fp32 floor':>13}"]
    for r in results:
        vs_fp32 = "" if r["vs_fp32"] is None else f"{r['vs_fp32']:.3f}"
        vs_floor = "" if r["vs_fp32_floor"] is None else f"{r['vs_fp32_floor']:.3f}"
        lines.append(f"{r['preset']:<10} {r['precision']:<5} {r['steps_per_s']:>8.1f} {r['images_per_s']:>9.0f} "
                     f"{r['gflops']:>8.1f} {r['roofline_fraction']:>9.3f} {r['floor_steps_per_s']:>10.1f} "
                     f"{r['gemm_floor_fraction']:>10.3f} {r['textbook_steps_per_s']:>9.1f} {r['speedup']:>8.3f} "
                     f"{vs_fp32:>8} {vs_floor:>13}")
    return "\n".join(lines)
