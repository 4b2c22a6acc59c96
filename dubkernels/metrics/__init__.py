"""Shot metrics: lip sync, identity, fidelity, temporal stability, localisation."""
