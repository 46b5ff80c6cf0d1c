"""`counterfeit bench`: our training step against the machine's own limits, measured side by side."""

from counterfeit.bench.run import bench
from counterfeit.bench.textbook import textbook_state, textbook_step

__all__ = ["bench", "textbook_state", "textbook_step"]
