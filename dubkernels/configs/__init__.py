"""Network configuration presets (JSON)."""
