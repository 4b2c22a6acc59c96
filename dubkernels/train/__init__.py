"""Training of the identity-transfer network: data, losses, loop, checkpoints."""
