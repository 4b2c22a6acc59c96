"""Sequence-level job kinds: ingest, analyze, train (each a function taking a Job)."""
