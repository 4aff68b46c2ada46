"""Local emulation of the deployed stack, driven by template.yaml (no Docker needed)."""
