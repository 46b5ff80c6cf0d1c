"""Preset configs as TOML files: `counterfeit presets` lists them; copy one to start your own."""
