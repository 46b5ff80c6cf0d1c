"""Training: the step, the loop around it, and the run directory it records into."""
