"""The package's version: one place, read by pyproject.toml and recorded in every run."""

__version__ = "0.1.0"
