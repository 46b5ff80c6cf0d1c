"""Where our training step's time goes: `counterfeit bench --profile`.

The step of each config, as `bench` times it (a real TrainState, batches from the in-memory
sampler), run under torch.profiler; the operations that take the most time, with their input
shapes, per step. This is how the step was taken apart on each CPU so far (docs/benchmarks.md):
a product far from its floor, a copy nobody asked for, a small op that costs more on one vendor's
CPU than on another's. The profiler adds time of its own to every op, so the shares are what
counts; the step's time without it is printed beside.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from torch.profiler import ProfilerActivity, profile

from counterfeit.bench.run import _real_images, _stepper
from counterfeit.bench.timing import time_window
from counterfeit.config import Config
from counterfeit.train.state import build_state
from counterfeit.train.step import make_step

WARMUP_STEPS = 10  # kernel choices, first allocations, the first Adam update (which creates its state)
# Grouping the profiler's events by input shape takes far longer than the steps themselves (tiny:
# 23 s for 824 steps): a few hundred steps give the per-step shares well enough.
MAX_STEPS = 200


@dataclass(frozen=True)
class OpTime:
    name: str
    shapes: str  # the op's input shapes, as the profiler records them
    calls: float  # per step
    ms: float  # self time per step, under the profiler
    share: float  # of all ops' self time


def profile_step(config: Config, seconds: float = 3.0, top: int = 15) -> dict[str, Any]:
    """The config's step on the CPU: its time per step without the profiler, then `top` ops by
    self time per step under it (over about `seconds` of steps, at least 10 and at most MAX_STEPS)."""
    state = build_state(config)
    if state.device.type != "cpu":
        raise ValueError("profile_step measures CPU steps")  # cmd_bench refuses a GPU in one line first
    step = _stepper(config, state, make_step(state), _real_images(config, state.device))
    for _ in range(WARMUP_STEPS):
        step()
    unprofiled = time_window(step, seconds)
    steps = min(MAX_STEPS, max(10, round(seconds / unprofiled)))
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        for _ in range(steps):
            step()
    events = prof.key_averages(group_by_input_shape=True)
    total = sum(e.self_cpu_time_total for e in events)  # microseconds, every op of every step
    ranked = sorted(events, key=lambda e: e.self_cpu_time_total, reverse=True)
    ops = [OpTime(e.key, _shapes(e.input_shapes), e.count / steps, e.self_cpu_time_total / steps / 1e3,
                  e.self_cpu_time_total / total if total else 0.0) for e in ranked[:top]]
    rest = ranked[top:]
    return {"preset": config.preset, "precision": config.precision, "steps": steps,
            "step_ms": unprofiled * 1e3, "profiled_step_ms": total / steps / 1e3,
            "ops": [asdict(op) for op in ops],
            "rest": {"ops": len(rest), "ms": sum(e.self_cpu_time_total for e in rest) / steps / 1e3}}


def _shapes(shapes: list[Any]) -> str:
    """[[512, 256], [784, 256], [], []] -> "512x256, 784x256" (scalars and empty arguments left out)."""
    return ", ".join("x".join(map(str, shape)) for shape in shapes if isinstance(shape, list) and shape
                     and all(isinstance(n, int) for n in shape))


INFLATED = 1.1  # op time under the profiler beyond this many times the step's own: say so


def format_profile(result: dict[str, Any]) -> str:
    lines = [f"{result['preset']} {result['precision']}: {result['step_ms']:.3f} ms a step; under the profiler "
             f"{result['profiled_step_ms']:.3f} ms of op time a step ({result['steps']} steps profiled)",
             f"{'share':>6} {'ms/step':>8} {'calls':>6}  op (input shapes)"]
    for op in result["ops"]:
        shapes = f" ({op['shapes']})" if op["shapes"] else ""
        lines.append(f"{op['share']:>6.1%} {op['ms']:>8.3f} {op['calls']:>6.3g}  {op['name']}{shapes}")
    rest = result["rest"]
    if rest["ops"]:
        lines.append(f"{'':>6} {rest['ms']:>8.3f} {'':>6}  the other {rest['ops']} ops")
    if result["profiled_step_ms"] > INFLATED * result["step_ms"]:
        # seen on mlp2: its 1.6 MB concatenation, 0.03 ms a step alone, took 0.37 under the profiler
        lines.append(f"note: the profiler made the ops {result['profiled_step_ms'] / result['step_ms'] - 1:.0%} "
                     "slower than the step without it, and not evenly (its own allocations change which memory "
                     "an op gets): time a suspect op alone before believing its share")
    return "\n".join(lines)
