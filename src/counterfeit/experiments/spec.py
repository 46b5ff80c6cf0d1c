"""An experiment file: variants of a config, the seeds each runs with, a budget per run, and how
the runs are judged. Read and checked whole before any run starts; every bad key or value is one
line naming the file and the key or variant.

    description = "Does a deeper generator help mlp2 at equal wall-clock?"
    preset = "mlp2"            # every variant's base (or config = "my.toml", relative to this file)
    seeds = [0, 1, 2]          # one run per variant and seed; 3 or more for an answer
    baseline = "g256"          # the variant the others are compared with (default: one named "baseline")
    threads = 1                # torch threads per run (default 1), whatever the number of workers

    [budget]                   # exactly one of:
    seconds = 150              #   wall-clock per run (VAE pre-training and in-training evals count)
    # steps = 10000            #   training steps per run

    [eval]                     # the final judgement of each run (`counterfeit eval RUN`)
    n = 2000                   # samples (default 2000), noise seed `seed` (default 0)
    metrics = ["fid", "precision", "recall", "coverage", "classes_covered"]   # the summary's (default)
    threshold = { fid = 150 }  # "learns faster": time to the first in-training eval past this

    [set]                      # `--set`-style overrides for every variant
    eval_every = 1000

    [[variants]]
    name = "g256"
    set = { g_hidden = [256] }

    [[variants]]
    name = "g256-512"
    preset = "mlp2"            # a variant may name its own preset
    set = { g_hidden = [256, 512] }
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from counterfeit.config import KEYS, Config, resolve, to_dict
from counterfeit.errors import ConfigError
from counterfeit.metrics.registry import FAST, METRICS

# The quantities a conditional run adds (metrics/conditional.py), and which way is better.
CONDITIONAL_METRICS = {"cond_accuracy": "higher", "cond_accuracy_min": "higher"}  # overall, worst digit
DEFAULT_METRICS = ("fid", "precision", "recall", "coverage", "classes_covered")
STACKED_METRICS = ("modes_covered", "mode_kl")
# A seconds budget leaves the step count open: this cap is never meant to be reached.
STEP_CAP = 1_000_000_000
# Keys the experiment sets for every run: the seed from `seeds`, the length from [budget].
EXPERIMENT_KEYS = ("seed", "steps", "epochs", "max_seconds", "preset")
TOP_KEYS = ("description", "preset", "config", "seeds", "baseline", "threads", "budget", "eval", "set", "variants")
EVAL_KEYS = ("n", "seed", "per_class", "metrics", "threshold")
VARIANT_KEYS = ("name", "preset", "set")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")  # a variant's name is a directory name


def better_direction(metric: str) -> str | None:
    """'higher' or 'lower' when the registry says which way is better, else None (no verdict)."""
    if metric in CONDITIONAL_METRICS:
        return CONDITIONAL_METRICS[metric]
    word = METRICS[metric].better.split()[0].rstrip(";")
    return word if word in ("higher", "lower") else None


@dataclass(frozen=True)
class Budget:
    kind: str  # "steps" or "seconds"
    amount: float

    def overrides(self) -> dict[str, Any]:
        """What every run's config gets: a length in steps, or a wall-clock budget and no step limit."""
        if self.kind == "steps":
            return {"steps": int(self.amount), "epochs": 0, "max_seconds": 0.0}
        return {"steps": STEP_CAP, "epochs": 0, "max_seconds": float(self.amount)}

    def rule(self) -> str:
        if self.kind == "steps":
            return (f"every run trains {int(self.amount)} steps; runs are seeded, so each is bit-identical "
                    "whatever the number of workers or the backend")
        return (f"every run trains until its clock passes {self.amount:g} s of wall-clock (VAE pre-training, "
                "in-training evaluations and checkpoints included), then stops at the next step boundary; "
                "the steps done depend on the machine's speed and load, so results are not reproducible "
                "bit for bit")


@dataclass(frozen=True)
class Threshold:
    metric: str
    value: float
    direction: str  # "lower": reached when the metric falls below value; "higher": rises above

    def reached(self, value: float) -> bool:
        return value < self.value if self.direction == "lower" else value > self.value

    def describe(self) -> str:
        return f"{self.metric} {'<' if self.direction == 'lower' else '>'} {self.value:g}"


@dataclass(frozen=True)
class Evaluation:
    n: int = 2000
    seed: int = 0
    per_class: int = 1000  # conditional runs: samples asked for each digit
    metrics: tuple[str, ...] = DEFAULT_METRICS
    threshold: Threshold | None = None


@dataclass(frozen=True)
class Variant:
    name: str
    config: Config  # resolved with the budget, for the first seed; `config_for` gives each seed's

    def config_for(self, seed: int) -> Config:
        return self.config.replace(seed=seed)


@dataclass(frozen=True)
class Experiment:
    path: Path
    text: str  # the file as written, copied into the experiment directory
    description: str
    seeds: tuple[int, ...]
    budget: Budget
    evaluation: Evaluation
    threads: int
    baseline: str | None
    variants: tuple[Variant, ...]

    @property
    def name(self) -> str:
        return self.path.stem

    def canonical(self) -> dict[str, Any]:
        """Everything the results depend on, as JSON values: a changed file (or a preset that now
        resolves differently) changes this. The description does not count."""
        threshold = self.evaluation.threshold
        spec = {
            "seeds": list(self.seeds),
            "budget": {self.budget.kind: self.budget.amount},
            "eval": {"n": self.evaluation.n, "seed": self.evaluation.seed, "per_class": self.evaluation.per_class,
                     "metrics": list(self.evaluation.metrics),
                     "threshold": {threshold.metric: threshold.value} if threshold else {}},
            "threads": self.threads,
            "baseline": self.baseline,
            "variants": {v.name: {k: val for k, val in to_dict(v.config).items() if k != "seed"}
                         for v in self.variants},
        }
        return json.loads(json.dumps(spec))  # tuples -> lists, as they read back from experiment.json

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.canonical(), sort_keys=True).encode()).hexdigest()


def load_experiment(path: str | Path) -> Experiment:
    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such experiment file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read experiment file ({err.__class__.__name__})") from None
    try:
        values = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: invalid TOML: {err}") from None
    return _parse(path, text, values)


def _parse(path: Path, text: str, values: dict[str, Any]) -> Experiment:
    _check_keys(values, TOP_KEYS, f"{path}")
    seeds = _seeds(path, values.get("seeds"))
    budget = _budget(path, values.get("budget"))
    threads = values.get("threads", 1)
    if not _is_int(threads) or threads < 1:
        raise ConfigError(f"{path}: threads: expected a positive integer, got {threads!r}")
    description = values.get("description", "")
    if not isinstance(description, str):
        raise ConfigError(f"{path}: description: expected a string")
    variants = _variants(path, values, budget, seeds[0])
    names = [v.name for v in variants]
    baseline = values.get("baseline", "baseline" if "baseline" in names else None)
    if baseline is not None and baseline not in names:
        raise ConfigError(f"{path}: baseline: no variant is named {baseline!r} (variants: {', '.join(names)})")
    evaluation = _evaluation(path, values.get("eval", {}), variants)
    return Experiment(path, text, description, seeds, budget, evaluation, threads, baseline, tuple(variants))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_keys(table: Any, allowed: tuple[str, ...], where: str) -> None:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table")
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (expected one of {', '.join(allowed)})"
            raise ConfigError(f"{where}: unknown key {key!r}{hint}")


def _seeds(path: Path, seeds: Any) -> tuple[int, ...]:
    if seeds is None or (isinstance(seeds, list) and not seeds):
        raise ConfigError(f"{path}: seeds: give at least one seed (3 or more for an answer), e.g. seeds = [0, 1, 2]")
    if not isinstance(seeds, list) or not all(_is_int(s) for s in seeds):
        raise ConfigError(f"{path}: seeds: expected a list of integers, got {seeds!r}")
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"{path}: seeds: {seeds} lists a seed twice")
    for seed in seeds:
        if not KEYS["seed"].accepts(seed):
            raise ConfigError(f"{path}: seeds: each must {KEYS['seed'].rule(seed)}, got {seed}")
    return tuple(seeds)


def _budget(path: Path, table: Any) -> Budget:
    where = f"{path}: [budget]"
    if table is None:
        raise ConfigError(f"{where}: missing; give steps = N or seconds = S")
    _check_keys(table, ("steps", "seconds"), where)
    if len(table) != 1:
        raise ConfigError(f"{where}: give either steps = N or seconds = S" + (", not both" if table else ""))
    kind, amount = next(iter(table.items()))
    if kind == "steps" and not (_is_int(amount) and amount > 0):
        raise ConfigError(f"{where}: steps: expected a positive integer, got {amount!r}")
    if kind == "seconds" and not (_is_number(amount) and amount > 0):
        raise ConfigError(f"{where}: seconds: expected a positive number, got {amount!r}")
    return Budget(kind, amount)


def _overrides(table: Any, where: str) -> dict[str, Any]:
    if table is None:
        return {}
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table of config keys, e.g. {{ g_hidden = [256, 512] }}")
    for key in table:
        if key in EXPERIMENT_KEYS:
            what = "the variant's preset key" if key == "preset" else "seeds and [budget]"
            raise ConfigError(f"{where}: {key} is set by the experiment ({what}), not by a variant's options")
    return dict(table)


def _variants(path: Path, values: Mapping[str, Any], budget: Budget, seed: int) -> list[Variant]:
    tables = values.get("variants")
    if not isinstance(tables, list) or not tables:
        raise ConfigError(f"{path}: [[variants]]: give at least one variant (a name and its options)")
    config_file = values.get("config")
    if config_file is not None:
        if not isinstance(config_file, str):
            raise ConfigError(f"{path}: config: expected a path to a TOML config file")
        config_file = path.parent / config_file
    base_preset = _preset(values.get("preset"), f"{path}")
    common = _overrides(values.get("set"), f"{path}: [set]")
    fixed = {**budget.overrides(), "seed": seed}
    variants: list[Variant] = []
    for index, table in enumerate(tables):
        name = table.get("name") if isinstance(table, dict) else None
        if not isinstance(name, str) or not NAME.match(name):
            raise ConfigError(f"{path}: variant {index + 1}: name: expected a directory-safe name "
                              f"(letters, digits, '.', '_', '-'), got {name!r}")
        where = f"{path}: variant {name!r}"
        _check_keys(table, VARIANT_KEYS, where)
        if name in (v.name for v in variants):
            raise ConfigError(f"{where}: the name is used twice; each variant needs its own")
        preset = _preset(table["preset"], where) if "preset" in table else base_preset
        own = _overrides(table.get("set"), where)
        # [set] first, so that a bad key there is named as [set]'s, whichever variant meets it
        named = f"{where}: preset" if "preset" in table else f"{path}: preset"
        resolve(preset, config_file, {**common, **fixed}, overrides_origin=f"{path}: [set] (variant {name!r})",
                preset_origin=named)
        config = resolve(preset, config_file, {**common, **own, **fixed}, overrides_origin=where, preset_origin=named)
        variants.append(Variant(name, config))
    return variants


def _preset(name: Any, where: str) -> str | None:
    """A preset's name as the file gives it (`resolve` checks that it names a preset, as the key
    `preset_origin` says)."""
    if name is not None and not isinstance(name, str):
        raise ConfigError(f"{where}: preset: expected a preset name")
    return name


def _evaluation(path: Path, table: Any, variants: list[Variant]) -> Evaluation:
    where = f"{path}: [eval]"
    _check_keys(table, EVAL_KEYS, where)
    defaults = Evaluation()
    for key in ("n", "per_class"):
        if key in table and not (_is_int(table[key]) and table[key] > 0):
            raise ConfigError(f"{where}: {key}: expected a positive integer, got {table[key]!r}")
    if "seed" in table and not _is_int(table["seed"]):
        raise ConfigError(f"{where}: seed: expected an integer, got {table['seed']!r}")
    known = (*METRICS, *CONDITIONAL_METRICS)
    conditional = any(v.config.conditional for v in variants)
    # Stacked MNIST runs are judged by their modes alone (metrics/evaluate.py says why).
    plain = STACKED_METRICS if any(v.config.channels > 1 for v in variants) else defaults.metrics
    metrics = table.get("metrics", [*plain, *(CONDITIONAL_METRICS if conditional else ())])
    if not isinstance(metrics, list) or not metrics or not all(isinstance(m, str) for m in metrics):
        raise ConfigError(f"{where}: metrics: expected a list of metric names, e.g. {list(DEFAULT_METRICS)}")
    for metric in metrics:
        if metric not in known:
            raise ConfigError(f"{where}: metrics: unknown metric {metric!r} (choose from {', '.join(known)})")
    return Evaluation(table.get("n", defaults.n), table.get("seed", defaults.seed),
                      table.get("per_class", defaults.per_class), tuple(dict.fromkeys(metrics)),
                      _threshold(where, table.get("threshold"), variants))


def _threshold(where: str, table: Any, variants: list[Variant]) -> Threshold | None:
    """One in-training metric and the value that counts as learnt, e.g. { fid = 150 }."""
    if table is None:
        return None
    watched = (*FAST, *CONDITIONAL_METRICS)  # what training logs every eval_every steps
    if not isinstance(table, dict) or len(table) != 1:
        raise ConfigError(f"{where}: threshold: expected one metric and its value, e.g. {{ fid = 150 }}")
    metric, value = next(iter(table.items()))
    direction = better_direction(metric) if metric in watched else None
    if direction is None:
        usable = [m for m in watched if better_direction(m)]
        raise ConfigError(f"{where}: threshold: {metric!r} is not an in-training metric with a better "
                          f"direction (choose from {', '.join(usable)})")
    if not _is_number(value):
        raise ConfigError(f"{where}: threshold: {metric} expects a number, got {value!r}")
    for variant in variants:
        if variant.config.eval_every == 0:
            raise ConfigError(f"{where}: threshold: variant {variant.name!r} has eval_every = 0, so training "
                              "never evaluates; set eval_every in [set] or the variant")
        if metric in CONDITIONAL_METRICS and not variant.config.conditional:
            raise ConfigError(f"{where}: threshold: {metric} needs a conditional model; variant "
                              f"{variant.name!r} is not one")
    return Threshold(metric, float(value), direction)
