"""Networks of the method (PyTorch)."""
