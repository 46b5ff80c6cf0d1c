"""Command line: parse arguments, build a config, call into the package. No logic of its own."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, NoReturn, Sequence

from counterfeit.errors import UserError


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit 2), like every other bad input."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def cmd_train(args: argparse.Namespace) -> int:
    from counterfeit.config import parse_set, resolve
    from counterfeit.train.loop import train

    overrides: dict[str, object] = dict(parse_set(args.set))
    for key in ("steps", "seed", "data", "device"):
        if getattr(args, key) is not None:
            overrides[key] = getattr(args, key)
    config = resolve(preset=args.preset, config_file=args.config, overrides=overrides)
    run_dir = train(config, out=args.out, quiet=args.quiet)
    print(run_dir)
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    import json

    from counterfeit.bench import bench
    from counterfeit.bench.run import format_table
    from counterfeit.config import parse_set, preset_names, resolve

    overrides = parse_set(args.set)
    presets = args.preset or ([] if args.config else [p for p in ("mlp2", "mlp4") if p in preset_names()])
    configs = [resolve(preset=name, overrides=overrides) for name in presets]
    configs += [resolve(config_file=path, overrides=overrides) for path in args.config]
    results = bench(configs, seconds=args.seconds, threads=args.threads)
    print(json.dumps(results, indent=1) if args.json else format_table(results))
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from counterfeit.sampling import generate, load_generator, save_samples

    if Path(args.out).suffix.lower() not in (".png", ".npz"):
        raise UserError(f"--out {args.out}: expected a .png or .npz file name")
    generator, config = load_generator(args.run_dir)
    save_samples(generate(generator, config, args.n, seed=args.seed), args.out)
    print(args.out)
    return 0


def cmd_presets(args: argparse.Namespace) -> int:
    from counterfeit.config import preset_description, preset_names

    names = preset_names()
    width = max(map(len, names))
    for name in names:
        print(f"{name:<{width}}  {preset_description(name)}")
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    from counterfeit.data import download_mnist

    for path in download_mnist(args.dir, dataset=args.dataset, base_url=args.base_url):
        print(path)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="counterfeit", description="Train, watch and judge GANs on MNIST-like images.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = sub.add_parser("train", help="train a GAN; prints the run directory")
    train.add_argument("--preset", help="a preset name (see `counterfeit presets`); default mlp2")
    train.add_argument("--config", type=Path, help="a TOML config file (e.g. a copied preset)")
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override one config key; repeatable (e.g. --set lr_g=2e-4)")
    train.add_argument("--steps", type=_positive_int, help="number of training steps (updates of D and G)")
    train.add_argument("--seed", type=_int, help="seed for every random number of the run")
    train.add_argument("--out", type=Path, help="run directory (default runs/<preset>-<time>)")
    train.add_argument("--data", help="an IDX images file (raw or .gz) or an .npz; default: embedded MNIST")
    train.add_argument("--device", choices=["auto", "cpu", "cuda"],
                       help="where to train (default: the config's, `auto` = CUDA when available)")
    train.add_argument("--quiet", action="store_true", help="print only the run directory")
    train.set_defaults(func=cmd_train)

    bench = sub.add_parser("bench", help="time our training step against the GEMM floor, sgemm and a textbook loop")
    bench.add_argument("--preset", action="append", default=[],
                       help="a preset to measure; repeatable (default: mlp2 and mlp4, where present)")
    bench.add_argument("--config", type=Path, action="append", default=[],
                       help="a TOML config file to measure; repeatable")
    bench.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override one config key of every measured config; repeatable")
    bench.add_argument("--seconds", type=_positive_float, default=3.0,
                       help="measuring time per candidate, split into 10 interleaved windows (default 3)")
    bench.add_argument("--threads", type=_positive_int,
                       help="torch threads (default: torch's, the physical cores)")
    bench.add_argument("--json", action="store_true", help="print a JSON list, one object per config")
    bench.set_defaults(func=cmd_bench)

    sample = sub.add_parser("sample", help="draw images from a trained run")
    sample.add_argument("run_dir", type=Path)
    sample.add_argument("-n", type=_positive_int, default=64, help="number of images (default 64)")
    sample.add_argument("--seed", type=_int, default=0)
    sample.add_argument("--out", required=True, help="FILE.png (a grid) or FILE.npz (`images` uint8 N×28×28)")
    sample.set_defaults(func=cmd_sample)

    presets = sub.add_parser("presets", help="list the presets, one line each")
    presets.set_defaults(func=cmd_presets)
    download = sub.add_parser("download", help="fetch the full MNIST or Fashion-MNIST IDX files (needs internet)")
    download.add_argument("--dataset", choices=["mnist", "fashion-mnist"], default="mnist")
    download.add_argument("--dir", type=Path, default=Path("data"), help="where to put the .gz files (default data/)")
    download.add_argument("--base-url", help="a mirror to use instead of the default")
    download.set_defaults(func=cmd_download)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except UserError as err:
        print(f"counterfeit {args.command}: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print(f"counterfeit {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
