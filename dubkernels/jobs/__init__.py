"""Job kinds: declarations, specs, identities, progress and the runner every front end uses."""
