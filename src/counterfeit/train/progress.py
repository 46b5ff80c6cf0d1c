"""What the user sees while training: a tqdm bar on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm


def describe(record: dict[str, Any]) -> str:
    return (f"D {record['d_loss']:.4f}  G {record['g_loss']:.4f}  "
            f"D(x) {record['d_real']:.3f}  D(G(z)) {record['d_fake']:.3f}")


class Progress:
    def __init__(self, total: int, start: int, quiet: bool, plain_every: int) -> None:
        self.quiet, self.total = quiet, total
        self.interactive = not quiet and sys.stderr.isatty()
        self.plain_every = plain_every
        self.bar = tqdm(total=total, initial=start, unit="step", dynamic_ncols=True,
                        disable=not self.interactive)

    def advance(self) -> None:
        self.bar.update(1)

    def log(self, record: dict[str, Any]) -> None:
        if self.interactive:
            self.bar.set_postfix_str(describe(record), refresh=False)
        elif not self.quiet and (record["step"] % self.plain_every == 0 or record["step"] == self.total):
            print(f"step {record['step']:>7}/{self.total}  {describe(record)}  "
                  f"{record['seconds']:.1f}s", file=sys.stderr, flush=True)

    def close(self) -> None:
        self.bar.close()
