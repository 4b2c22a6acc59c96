"""Frame, sequence and video input/output."""
