"""One typed, frozen config: built once from a preset, a TOML file and `--set` overrides,
validated once, and saved resolved into the run directory."""

from __future__ import annotations

import difflib
import tomllib
import typing
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

from counterfeit.errors import ConfigError

DEFAULT_PRESET = "mlp2"
# Models that draw the class they are given, G(z, y) and D(x, y); they train on labelled data.
CONDITIONAL_MODELS = ("cmlp", "cdcgan")

# Allowed values of the string-valued keys; the registries that use them check against these too.
CHOICES: dict[str, tuple[str, ...]] = {
    "model": ("mlp", "dcgan", "cmlp", "cdcgan"),
    "prior": ("uniform", "normal", "sphere"),
    "activation": ("relu", "leaky_relu"),
    "g_output": ("sigmoid", "tanh"),
    "init": ("tf-truncated-normal", "torch-default", "tutorial-uniform", "dcgan-normal"),
    "loss": ("nonsaturating", "minimax", "lsgan", "hinge", "wgan-gp"),
    "g_init": ("none", "vae"),
    "device": ("auto", "cpu", "cuda"),
    "precision": ("fp32", "bf16"),
}


@dataclass(frozen=True)
class Config:
    """Everything a run depends on. Field order is the order of the saved `config.toml`."""

    preset: str = DEFAULT_PRESET
    seed: int = 0
    data: str = "embedded"  # "embedded", or a path to an IDX images file or an .npz
    device: str = "auto"
    # -- models --
    model: str = "mlp"
    z_dim: int = 128
    prior: str = "uniform"
    g_hidden: tuple[int, ...] = (256,)
    d_hidden: tuple[int, ...] = (128,)
    activation: str = "relu"
    leaky_slope: float = 0.2
    g_output: str = "sigmoid"  # sigmoid: pixels in [0, 1]; tanh: pixels in [-1, 1]
    d_dropout: float = 0.0
    init: str = "tf-truncated-normal"
    g_init: str = "none"  # "vae": start G from the decoder of a VAE pre-trained on the same data
    vae_steps: int = 2_000  # VAE pre-training steps when g_init = "vae"
    # -- objective and optimisers --
    loss: str = "nonsaturating"
    gp_weight: float = 10.0  # wgan-gp's gradient-penalty weight (lambda); other losses ignore it
    n_critic: int = 1  # D updates per step, each on its own real batch
    aux_weight: float = 0.0  # AC-GAN class loss on D (real) and G (fake) logits; conditional only
    lr_g: float = 1e-4
    lr_d: float = 5e-4
    betas: tuple[float, float] = (0.9, 0.999)
    adam_eps: float = 1e-8
    batch_size: int = 256
    steps: int = 20_000
    epochs: int = 0  # > 0: train this many passes over the data instead (steps resolved at train time)
    ema: float = 0.0  # decay of an exponential moving average of G's weights; 0 = off
    # -- what the run records --
    log_every: int = 100
    sample_every: int = 2_000  # a PNG grid in samples/
    frame_every: int = 2_000  # a frame of progress.gif
    grid_size: int = 64  # fixed-noise samples per snapshot grid
    tensorboard: bool = False  # also TensorBoard event files in RUN_DIR/tensorboard/ (the `tensorboard` extra)
    # -- speed --
    precision: str = "fp32"  # "bf16": forward and backward under bfloat16 autocast (CUDA, or CPUs with bf16)
    # -- judging while training (counterfeit.metrics) --
    eval_every: int = 0  # steps between cheap evaluations (FID, precision, recall, ...); 0: off
    collapse_abort: bool = False  # stop the run (weights saved) when a collapse signal fires
    # -- checkpoints (train --resume) --
    checkpoint_every: int = 1_000  # steps between checkpoints (one is also written at the end)
    keep_checkpoints: int = 3  # the newest K stay; older ones are removed once a new one is on disk

    def replace(self, **changes: Any) -> "Config":
        return from_mapping({**to_dict(self), **changes}, origin="config")

    @property
    def conditional(self) -> bool:
        return self.model in CONDITIONAL_MODELS

    @property
    def pixel_range(self) -> tuple[float, float]:
        return (0.0, 1.0) if self.g_output == "sigmoid" else (-1.0, 1.0)


FIELD_NAMES = tuple(f.name for f in fields(Config))
_HINTS = typing.get_type_hints(Config)


def to_dict(config: Config) -> dict[str, Any]:
    return {f.name: getattr(config, f.name) for f in fields(Config)}


def _coerce(key: str, value: Any, origin: str) -> Any:
    """Check one value against its field's type, converting TOML lists and `--set` strings."""
    hint = _HINTS[key]
    where = f"{origin}: {key}"
    if isinstance(value, str) and hint is not str:
        value = _parse_string(key, value, hint, where)
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    origin_type = typing.get_origin(hint)
    if origin_type is tuple:
        args = typing.get_args(hint)
        item_type = args[0]
        if not isinstance(value, (list, tuple)):
            value = [value]
        if len(args) == 2 and args[1] is Ellipsis:
            expected_len = None
        else:
            expected_len = len(args)
        if expected_len is not None and len(value) != expected_len:
            raise ConfigError(f"{where}: expected {expected_len} values, got {len(value)}")
        items = []
        for item in value:
            ok = isinstance(item, (int, float)) and not isinstance(item, bool)
            if item_type is int:
                ok = ok and isinstance(item, int)
            if not ok:
                raise ConfigError(f"{where}: expected {item_type.__name__} values, got {item!r}")
            items.append(item_type(item))
        return tuple(items)
    raise AssertionError(f"unsupported config type {hint} for {key}")


def _parse_string(key: str, text: str, hint: Any, where: str) -> Any:
    """`--set` values arrive as strings: parse them as TOML scalars or comma-separated lists."""
    text = text.strip()
    if typing.get_origin(hint) is tuple:
        parts = [p for p in text.strip("[]()").split(",") if p.strip()]
        return [_parse_scalar(p.strip(), where) for p in parts]
    return _parse_scalar(text, where)


def _parse_scalar(text: str, where: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        raise ConfigError(f"{where}: cannot parse {text!r} as a value") from None


def _validate(config: Config, origin: str) -> None:
    for key, allowed in CHOICES.items():
        value = getattr(config, key)
        if value not in allowed:
            raise ConfigError(f"{origin}: {key}={value!r} is not one of {', '.join(allowed)}")
    positive = ("z_dim", "batch_size", "steps", "log_every", "sample_every", "frame_every", "grid_size",
                "n_critic", "vae_steps", "checkpoint_every", "keep_checkpoints")
    for key in positive:
        if getattr(config, key) <= 0:
            raise ConfigError(f"{origin}: {key} must be positive, got {getattr(config, key)}")
    for key in ("lr_g", "lr_d", "adam_eps", "leaky_slope"):
        if not getattr(config, key) > 0:
            raise ConfigError(f"{origin}: {key} must be positive, got {getattr(config, key)}")
    for key in ("g_hidden", "d_hidden"):
        if not getattr(config, key) or min(getattr(config, key)) <= 0:
            raise ConfigError(f"{origin}: {key} must list positive layer widths")
    if config.eval_every < 0:
        raise ConfigError(f"{origin}: eval_every must be 0 (off) or positive, got {config.eval_every}")
    if not all(0.0 <= b < 1.0 for b in config.betas):
        raise ConfigError(f"{origin}: betas must lie in [0, 1), got {config.betas}")
    if not 0.0 <= config.d_dropout < 1.0:
        raise ConfigError(f"{origin}: d_dropout must lie in [0, 1), got {config.d_dropout}")
    if not 0.0 <= config.ema < 1.0:
        raise ConfigError(f"{origin}: ema must lie in [0, 1) (0 = off), got {config.ema}")
    for key in ("epochs", "gp_weight"):
        if getattr(config, key) < 0:
            raise ConfigError(f"{origin}: {key} must not be negative, got {getattr(config, key)}")
    if config.model == "dcgan":
        for key in ("g_hidden", "d_hidden"):
            if len(getattr(config, key)) != 2:
                raise ConfigError(f"{origin}: {key} must list 2 channel widths for model='dcgan' "
                                  f"(28 = 7 x 2 x 2), got {list(getattr(config, key))}")
    _validate_conditional(config, origin)


def _validate_conditional(config: Config, origin: str) -> None:
    if config.aux_weight < 0:
        raise ConfigError(f"{origin}: aux_weight must be >= 0, got {config.aux_weight}")
    if config.aux_weight > 0 and not config.conditional:
        raise ConfigError(f"{origin}: aux_weight needs a conditional model ({', '.join(CONDITIONAL_MODELS)})")
    if config.model == "cdcgan" and (len(config.g_hidden) != 2 or len(config.d_hidden) != 2):
        raise ConfigError(f"{origin}: model cdcgan takes two channel widths in g_hidden and d_hidden")
    if config.conditional and (config.loss == "wgan-gp" or config.g_init != "none"):
        # The gradient penalty and the VAE decoder are written for G(z) and D(x) without labels.
        raise ConfigError(f"{origin}: model {config.model} does not support loss wgan-gp or g_init vae yet")


def _check_known_key(key: str, origin: str) -> None:
    if key not in FIELD_NAMES:
        close = difflib.get_close_matches(key, FIELD_NAMES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"{origin}: unknown config key {key!r}{hint}")


def from_mapping(values: Mapping[str, Any], origin: str) -> Config:
    for key in values:
        _check_known_key(key, origin)
    config = Config(**{k: _coerce(k, v, origin) for k, v in values.items()})
    _validate(config, origin)
    return config


# -- presets: TOML files shipped in counterfeit/presets/ --------------------------------------


def preset_names() -> list[str]:
    return sorted(p.name[: -len(".toml")] for p in resources.files("counterfeit.presets").iterdir()
                  if p.name.endswith(".toml"))


def preset_path(name: str) -> Any:
    if name not in preset_names():
        raise ConfigError(f"--preset: unknown preset {name!r} (choose from {', '.join(preset_names())})")
    return resources.files("counterfeit.presets").joinpath(f"{name}.toml")


def preset_description(name: str) -> str:
    return _read_toml_text(preset_path(name).read_text("utf-8"), f"preset {name}").get("description", "")


def _read_toml_text(text: str, origin: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{origin}: invalid TOML: {err}") from None


def read_toml(path: str | Path) -> dict[str, Any]:
    """A config file's keys, without the free-text `description`."""
    try:
        text = Path(path).read_text("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read config file ({err.__class__.__name__})") from None
    values = _read_toml_text(text, str(path))
    values.pop("description", None)
    return values


def resolve(
    preset: str | None = None,
    config_file: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """Preset, then the config file, then overrides (`--set`, `--steps`, ...), each over the last."""
    values: dict[str, Any] = {}
    if config_file is not None:
        file_values = read_toml(config_file)
        preset = preset or file_values.get("preset")
    name = preset or DEFAULT_PRESET
    preset_values = _read_toml_text(preset_path(name).read_text("utf-8"), f"preset {name}")
    preset_values.pop("description", None)
    values.update(preset_values)
    values["preset"] = name
    origin = f"preset {name}"
    if config_file is not None:
        values.update(steps_turn_off_epochs(file_values))
        origin = str(config_file)
    if overrides:
        values.update(steps_turn_off_epochs(overrides))
        origin = "--set" if config_file is None else f"{config_file} with --set"
    return from_mapping(values, origin)


def steps_turn_off_epochs(layer: Mapping[str, Any]) -> Mapping[str, Any]:
    """A layer that sets `steps` but not `epochs` means those steps (`--steps 100` on mlp4)."""
    return {**layer, "epochs": 0} if "steps" in layer and "epochs" not in layer else layer


def resolve_epochs(config: Config, dataset_size: int) -> Config:
    """`epochs` > 0 becomes steps: an epoch is dataset_size // batch_size real batches (the
    sampler drops a partial last batch), and a step takes n_critic of them."""
    if config.epochs == 0:
        return config
    batches = config.epochs * (dataset_size // config.batch_size)
    return config.replace(steps=max(1, batches // config.n_critic))


def parse_set(items: list[str]) -> dict[str, str]:
    """`--set key=value` pairs, as strings; the config coerces them by field type."""
    result: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {item}: expected key=value")
        key = key.strip()
        _check_known_key(key, f"--set {item}")
        result[key] = value
    return result


def to_toml(config: Config, header: Mapping[str, Any] | None = None) -> str:
    """The resolved config as TOML; `header` adds a [run] table (seed, versions, ...)."""
    lines = [f"{key} = {_toml_value(value)}" for key, value in to_dict(config).items()]
    if header:
        lines.append("")
        lines.append("[run]")
        lines += [f"{key} = {_toml_value(value)}" for key, value in header.items()]
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def load_run_config(run_dir: Path) -> Config:
    values = read_toml(run_dir / "config.toml")
    values.pop("run", None)
    return from_mapping(values, str(run_dir / "config.toml"))


__all__ = [
    "Config", "CHOICES", "CONDITIONAL_MODELS", "DEFAULT_PRESET", "FIELD_NAMES", "from_mapping", "load_run_config",
    "parse_set", "preset_description", "preset_names", "read_toml", "resolve", "resolve_epochs",
    "steps_turn_off_epochs", "to_dict", "to_toml",
]
