"""The five stages of the method behind one API: a Python class, a CLI subcommand and a JSON job spec."""
