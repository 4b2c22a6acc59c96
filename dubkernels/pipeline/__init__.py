"""The shot as a graph of jobs: running jobs, the dub chain, shot files."""
