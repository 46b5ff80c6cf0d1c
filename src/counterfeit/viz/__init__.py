"""Pictures of a run: sample grids, the progress GIF, loss and metric plots."""

from counterfeit.viz.grid import image_grid, save_grid, to_uint8
from counterfeit.viz.gif import write_gif
from counterfeit.viz.plots import plot_losses

__all__ = ["image_grid", "plot_losses", "save_grid", "to_uint8", "write_gif"]
