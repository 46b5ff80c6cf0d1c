"""One typed, frozen config: built once from a preset, a TOML file and `--set` overrides,
validated once, and saved resolved into the run directory."""

from __future__ import annotations

import difflib
import math
import os
import tomllib
import typing
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

import tomli_w

from counterfeit.errors import ConfigError
from counterfeit.seeds import SEED_LIMIT

DEFAULT_PRESET = "mlp2"
# Models that draw the class they are given, G(z, y) and D(x, y); they train on labelled data.
CONDITIONAL_MODELS = ("cmlp", "cdcgan")
# DiffAugment's augmentations that `augment` may list (augment.py implements each).
AUGMENT_NAMES = ("translation", "cutout")

@dataclass(frozen=True)
class OneOf:
    """A string key's allowed values."""

    choices: tuple[str, ...]

    def accepts(self, value: Any) -> bool:
        return value in self.choices

    def __str__(self) -> str:
        return "one of " + ", ".join(self.choices)


@dataclass(frozen=True)
class Range:
    """low <= value < high (low < value when `open_low`); no `high`: no upper bound."""

    low: float
    high: float | None = None
    open_low: bool = False

    def accepts(self, value: Any) -> bool:
        above_low = value > self.low if self.open_low else value >= self.low
        finite = not isinstance(value, float) or math.isfinite(value)  # inf: lr_g = inf (an int is finite, however large)
        return above_low and (self.high is None or value < self.high) and finite

    def __str__(self) -> str:
        if self.high is not None:
            return f"in {'(' if self.open_low else '['}{self.low}, {self.high})"
        if self.low == 0:
            return "positive" if self.open_low else "0 or more"
        return f"{'>' if self.open_low else '>='} {self.low}"


@dataclass(frozen=True)
class NameList:
    """A string key that lists names from `choices`, comma-separated ("" for none)."""

    choices: tuple[str, ...]

    def accepts(self, value: Any) -> bool:
        return all(name in self.choices for name in split_names(value))

    def __str__(self) -> str:
        return '"" (off) or a comma list of ' + ", ".join(self.choices)


def split_names(text: str) -> tuple[str, ...]:
    """"translation, cutout" -> ("translation", "cutout"); "" -> ()."""
    return tuple(name.strip() for name in text.split(",") if name.strip())


POSITIVE = Range(0, open_low=True)
NOT_NEGATIVE = Range(0)
FRACTION = Range(0, 1)  # [0, 1)


@dataclass(frozen=True)
class Key:
    """What a config key means, and the check its value passes beyond its type (lists: each item)."""

    meaning: str
    check: OneOf | Range | NameList | None = None

    def accepts(self, value: Any) -> bool:
        if self.check is None:
            return True
        if isinstance(value, tuple):
            return bool(value) and all(self.check.accepts(item) for item in value)
        return self.check.accepts(value)

    def rule(self, value: Any) -> str:
        """The check as the end of 'KEY must ...'."""
        if isinstance(value, tuple):
            return f"list one or more values, each {self.check}"
        if isinstance(self.check, Range) and isinstance(value, float) and math.isinf(value):
            return f"be finite and {self.check}"
        return f"be {self.check}"

    def describe(self) -> str:
        return self.meaning if self.check is None else f"{self.meaning}; {self.check}"


def setting(default: Any, meaning: str, check: OneOf | Range | NameList | None = None) -> Any:
    """A Config field with its meaning and check: the one table that validation reads and
    `counterfeit config show` prints."""
    return field(default=default, metadata={"key": Key(meaning, check)})


@dataclass(frozen=True)
class Config:
    """Everything a run depends on. Field order is the order of the saved `config.toml`."""

    preset: str = setting(DEFAULT_PRESET, "the preset the values start from (`counterfeit presets`)")
    seed: int = setting(0, "seed of every random draw of the run (seeds.py derives the rest)",
                        Range(0, SEED_LIMIT))
    data: str = setting("embedded", "embedded (10,000 MNIST digits in the package), a dataset name (mnist, "
                        "fashion-mnist, kmnist), stacked-mnist (3 embedded digits as the channels of one "
                        "image: 1,000 modes), a folder of PNG/JPEG images, or an IDX or .npz file")
    invert: bool = setting(False, "use 255 - pixels: for dark-on-light images")
    skip_bad: bool = setting(False, "image folders: leave out files that are not readable PNG/JPEG images")
    device: str = setting("auto", "where to train; auto: CUDA when torch sees a GPU", OneOf(("auto", "cpu", "cuda")))
    # -- models --
    model: str = setting("mlp", "the networks; cmlp, cdcgan: conditional G(z, y), D(x, y)",
                     OneOf(("mlp", "dcgan", "cmlp", "cdcgan")))
    channels: int = setting(1, "image channels G draws and D reads (784 pixels each); must match the data's: "
                            "1, or 3 for stacked-mnist", POSITIVE)
    stacked_size: int = setting(128_000, "stacked-mnist: how many 3-digit images the run draws to train on "
                                "(PacGAN's 128,000); unused by other data", POSITIVE)
    z_dim: int = setting(128, "length of the noise vector z", POSITIVE)
    prior: str = setting("uniform", "p(z): U[-1, 1], N(0, 1), or uniform on the sphere of radius sqrt(z_dim)",
                     OneOf(("uniform", "normal", "sphere")))
    g_hidden: tuple[int, ...] = setting((256,), "G's hidden widths (dcgan, cdcgan: two channel widths)",
                                    POSITIVE)
    d_hidden: tuple[int, ...] = setting((128,), "D's hidden widths (dcgan, cdcgan: two channel widths)",
                                    POSITIVE)
    activation: str = setting("relu", "the MLPs' hidden activation", OneOf(("relu", "leaky_relu")))
    leaky_slope: float = setting(0.2, "negative slope of leaky_relu (and of DCGAN's D)", POSITIVE)
    g_output: str = setting("sigmoid", "G's output: sigmoid (pixels in [0, 1]) or tanh ([-1, 1])",
                        OneOf(("sigmoid", "tanh")))
    d_dropout: float = setting(0.0, "dropout rate after each of D's hidden layers", FRACTION)
    d_norm: str = setting("none", "spectral: spectral normalisation of every Linear and Conv2d weight of D "
                          "(Miyato et al. 2018)", OneOf(("none", "spectral")))
    d_mbstd: bool = setting(False, "append a minibatch standard-deviation feature before D's last layer "
                                   "(Karras et al. 2018); computed over each process's own rows")
    d_mbstd_group: int = setting(4, "rows per minibatch-std group; each process's rows of a batch must be a "
                                    "multiple", POSITIVE)
    clusters: int = setting(0, "> 0: self-conditioning (Liu et al. 2020): k-means of the training images into "
                            "this many clusters; D judges (image, cluster) pairs by projection, G draws the "
                            "cluster z's last entry picks, so samples stay G(z) and no labels are read; "
                            "model dcgan only; 0 = off", NOT_NEGATIVE)
    init: str = setting("tf-truncated-normal", "weight initialisation (see the presets in the README)",
                    OneOf(("tf-truncated-normal", "torch-default", "tutorial-uniform", "dcgan-normal")))
    g_init: str = setting("none", "vae: start G as the decoder of a VAE pre-trained on the data",
                      OneOf(("none", "vae")))
    vae_steps: int = setting(2_000, "VAE pre-training steps when g_init = vae", POSITIVE)
    # -- objective and optimisers --
    loss: str = setting("nonsaturating", "D and G objectives",
                    OneOf(("nonsaturating", "minimax", "lsgan", "hinge", "wgan-gp")))
    gp_weight: float = setting(10.0, "wgan-gp's gradient penalty weight (lambda)", NOT_NEGATIVE)
    r1_gamma: float = setting(0.0, "gamma of the R1 penalty gamma/2 * mean ||grad_x D(x)||^2 on real x "
                              "(Mescheder et al. 2018); 0 = off", NOT_NEGATIVE)
    r1_every: int = setting(16, "apply R1 on every r1_every-th D update only, scaled by r1_every (lazy, as "
                                "StyleGAN2)", POSITIVE)
    n_critic: int = setting(1, "D updates per step, each on its own real batch", POSITIVE)
    aux_weight: float = setting(0.0, "AC-GAN class loss weight (conditional models); 0 = off",
                            NOT_NEGATIVE)
    lr_g: float = setting(1e-4, "G's Adam learning rate", POSITIVE)
    lr_d: float = setting(5e-4, "D's Adam learning rate", POSITIVE)
    lr_decay: float = setting(0.0, "the last fraction of `steps` over which both learning rates fall "
                              "linearly towards 0; 0 = constant rates", FRACTION)
    betas: tuple[float, float] = setting((0.9, 0.999), "Adam's beta1, beta2 (both networks)", FRACTION)
    adam_eps: float = setting(1e-8, "Adam's epsilon (both networks)", POSITIVE)
    batch_size: int = setting(256, "real images per D update, fakes per G update", POSITIVE)
    steps: int = setting(20_000, "training steps: n_critic D updates and one G update each", POSITIVE)
    epochs: int = setting(0, "> 0: passes over the data, instead of steps; 0 = off",
                      NOT_NEGATIVE)
    max_seconds: float = setting(0.0, "> 0: also stop at the first step boundary once the run's clock has "
                                 "passed this many seconds; 0 = off", NOT_NEGATIVE)
    ema: float = setting(0.0, "decay of the average of G's weights that samples use; 0 = off", FRACTION)
    augment: str = setting("", "DiffAugment: augment real and fake images alike each time D sees them, "
                           "in the order listed", NameList(AUGMENT_NAMES))
    # -- what the run records --
    log_every: int = setting(100, "steps between the loss lines of metrics.jsonl", POSITIVE)
    sample_every: int = setting(2_000, "steps between PNG grids in samples/", POSITIVE)
    frame_every: int = setting(2_000, "steps between frames of progress.gif", POSITIVE)
    grid_size: int = setting(64, "fixed-noise samples per snapshot grid", POSITIVE)
    tensorboard: bool = setting(False, "also write TensorBoard event files into RUN_DIR/tensorboard/ "
                                       "(the tensorboard extra)")
    # -- speed --
    precision: str = setting("fp32", "bf16: matrix products and convolutions in bfloat16, float32 weights and "
                             "Adam; auto: bf16 on a CPU with bfloat16 hardware, fp32 on a GPU (resolved and recorded "
                             "at the run's start)", OneOf(("fp32", "bf16", "auto")))
    # -- judging while training (counterfeit.metrics) --
    eval_every: int = setting(0, "steps between evaluations (FID, recall, ...); 0 = off", NOT_NEGATIVE)
    collapse_abort: bool = setting(False, "stop (weights saved) at the first collapse signal")
    # -- checkpoints (train --resume) --
    checkpoint_every: int = setting(1_000, "steps between checkpoints (one is also written at the end)", POSITIVE)
    keep_checkpoints: int = setting(3, "how many of the newest checkpoints stay", POSITIVE)

    def replace(self, **changes: Any) -> "Config":
        return from_mapping({**to_dict(self), **changes}, origin="config")

    @property
    def conditional(self) -> bool:
        return self.model in CONDITIONAL_MODELS

    @property
    def augmentations(self) -> tuple[str, ...]:
        return split_names(self.augment)

    @property
    def pixel_range(self) -> tuple[float, float]:
        return (0.0, 1.0) if self.g_output == "sigmoid" else (-1.0, 1.0)


KEYS: dict[str, Key] = {f.name: f.metadata["key"] for f in fields(Config)}
# Allowed values of the string-valued keys.
CHOICES: dict[str, tuple[str, ...]] = {name: k.check.choices for name, k in KEYS.items() if isinstance(k.check, OneOf)}
FIELD_NAMES = tuple(f.name for f in fields(Config))
_HINTS = typing.get_type_hints(Config)


def to_dict(config: Config) -> dict[str, Any]:
    return {f.name: getattr(config, f.name) for f in fields(Config)}


def _coerce(key: str, value: Any, origin: str) -> Any:
    """Check one value against its field's type, converting TOML lists and `--set` strings."""
    hint = _HINTS[key]
    where = f"{origin}: {key}"
    if isinstance(value, os.PathLike) and hint is str:  # counterfeit.train(data=Path(...))
        value = os.fspath(value)
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
    for name, spec in KEYS.items():
        value = getattr(config, name)
        if not spec.accepts(value):
            shown = list(value) if isinstance(value, tuple) else value
            raise ConfigError(f"{origin}: {name} must {spec.rule(value)}, got {shown!r}")
    if config.model == "dcgan":
        for name in ("g_hidden", "d_hidden"):
            if len(getattr(config, name)) != 2:
                raise ConfigError(f"{origin}: {name} must list 2 channel widths for model='dcgan' "
                                  f"(28 = 7 x 2 x 2), got {list(getattr(config, name))}")
    if not config.data.strip():  # a path of "" is the current directory: an error about the wrong folder
        raise ConfigError(f"{origin}: data must name a dataset, a folder or a file, got {config.data!r}")
    _validate_conditional(config, origin)
    _validate_clusters(config, origin)
    if config.d_mbstd and config.batch_size % config.d_mbstd_group:
        raise ConfigError(f"{origin}: batch_size {config.batch_size} must be a multiple of d_mbstd_group "
                          f"{config.d_mbstd_group} with d_mbstd = true (D's minibatch-std groups)")
    _validate_channels(config, origin)


def _validate_channels(config: Config, origin: str) -> None:
    # The data module's STACKED name; config sits below data, so it is spelled out here.
    if config.data == "stacked-mnist":
        if config.channels != 3:
            raise ConfigError(f"{origin}: channels = {config.channels}, but data stacked-mnist has 3 channels "
                              "(set channels = 3, or use the preset stacked)")
        if config.conditional:
            # Its labels are modes 0-999, not the digits 0-9 a conditional model draws.
            raise ConfigError(f"{origin}: model {config.model} is conditional on digits 0-9; stacked-mnist's "
                              "labels are its 1,000 modes: use model mlp or dcgan")
    if config.channels != 1 and config.g_init != "none":
        raise ConfigError(f"{origin}: g_init {config.g_init} pre-trains on 1-channel images; channels = "
                          f"{config.channels} needs g_init = none")


def _validate_conditional(config: Config, origin: str) -> None:
    if config.aux_weight > 0 and not config.conditional:
        raise ConfigError(f"{origin}: aux_weight needs a conditional model ({', '.join(CONDITIONAL_MODELS)})")
    if config.model == "cdcgan" and (len(config.g_hidden) != 2 or len(config.d_hidden) != 2):
        raise ConfigError(f"{origin}: model cdcgan takes two channel widths in g_hidden and d_hidden")
    if config.conditional and (config.loss == "wgan-gp" or config.g_init != "none"):
        # The gradient penalty and the VAE decoder are written for G(z) and D(x) without labels.
        raise ConfigError(f"{origin}: model {config.model} does not support loss wgan-gp or g_init vae yet")


def _validate_clusters(config: Config, origin: str) -> None:
    if not config.clusters:
        return
    if config.model != "dcgan":
        raise ConfigError(f"{origin}: clusters = {config.clusters} needs model = dcgan (the conditional "
                          f"models read labels; the MLPs' hand-written step has no clusters), got {config.model}")
    if config.prior not in ("normal", "uniform"):
        raise ConfigError(f"{origin}: clusters needs prior normal or uniform (z's last entry picks the "
                          f"cluster through its distribution function), got {config.prior}")
    if config.z_dim < 2:
        raise ConfigError(f"{origin}: clusters needs z_dim >= 2 (the last entry picks the cluster)")
    if config.loss == "wgan-gp" or config.g_init != "none":
        raise ConfigError(f"{origin}: clusters does not support loss wgan-gp or g_init vae")


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
    overrides_origin: str = "--set",
    preset_origin: str = "--preset",
) -> Config:
    """Preset, then the config file, then overrides (`--set`, `--steps`, ...), each over the last.
    `overrides_origin` is what an error about the overrides names (an experiment file's variant),
    `preset_origin` what one about `preset` does."""
    values: dict[str, Any] = {}
    if overrides and "preset" in overrides:  # it would relabel another preset's values
        raise ConfigError(f"{overrides_origin} preset={overrides['preset']}: the preset is chosen with --preset, "
                          "not set as a value")
    if config_file is not None:
        file_values = read_toml(config_file)
        if "preset" in file_values:
            file_preset = file_values["preset"]
            if not isinstance(file_preset, str) or file_preset not in preset_names():
                raise ConfigError(f"{config_file}: preset: unknown preset {file_preset!r} "
                                  f"(choose from {', '.join(preset_names())})")
            if preset is not None and preset != file_preset:  # whose values would the run be?
                raise ConfigError(f"{config_file}: preset = {file_preset!r}, but {preset_origin} {preset}: "
                                  "give one of them")
            preset = file_preset
    name = preset or DEFAULT_PRESET
    if name not in preset_names():  # named as its caller gave it: --preset, or an experiment file's key
        raise ConfigError(f"{preset_origin}: unknown preset {name!r} (choose from {', '.join(preset_names())})")
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
        origin = overrides_origin if config_file is None else f"{config_file} with {overrides_origin}"
    config = from_mapping(values, origin)
    check_steps_or_epochs(overrides or {}, config, overrides_origin)
    return config


def steps_turn_off_epochs(layer: Mapping[str, Any]) -> Mapping[str, Any]:
    """A layer that sets `steps` but not `epochs` means those steps (`--steps 100` on mlp4)."""
    return {**layer, "epochs": 0} if "steps" in layer and "epochs" not in layer else layer


def check_steps_or_epochs(layer: Mapping[str, Any], config: Config, origin: str) -> None:
    """One layer of options (the command line's) giving both steps and epochs > 0: the epochs
    would decide the steps, and the steps given would be dropped without a word."""
    if "steps" in layer and "epochs" in layer and config.epochs > 0:
        raise ConfigError(f"{origin}: steps and epochs = {config.epochs} are both given, and epochs sets the "
                          "steps; give one of them")


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
    return tomli_w.dumps({**to_dict(config), **({"run": dict(header)} if header else {})})


def annotated_toml(config: Config) -> str:
    """The config as TOML, each key followed by its meaning and check as a comment (`config show`);
    a file of it is a valid --config."""
    lines = [(f"{name} = {_inline(value)}", KEYS[name].describe()) for name, value in to_dict(config).items()]
    width = min(max(len(line) for line, _ in lines), 32)
    return "".join(f"{line:<{width}}  # {meaning}\n" for line, meaning in lines)


def _inline(value: Any) -> str:
    """One TOML value on one line (tomli-w puts each item of an array on its own)."""
    if isinstance(value, tuple):
        return "[" + ", ".join(map(_inline, value)) + "]"
    return tomli_w.dumps({"v": value}).removeprefix("v = ").removesuffix("\n")


__all__ = [
    "AUGMENT_NAMES", "Config", "CHOICES", "CONDITIONAL_MODELS", "DEFAULT_PRESET", "FIELD_NAMES", "KEYS", "Key",
    "annotated_toml", "from_mapping",
    "parse_set", "preset_description", "preset_names", "read_toml", "resolve", "resolve_epochs",
    "check_steps_or_epochs", "steps_turn_off_epochs", "to_dict", "to_toml",
]
