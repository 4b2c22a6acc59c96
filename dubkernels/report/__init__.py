"""The shot report: metrics, plots, contact sheet and review movie of a dub (``dubkernels report``)."""
