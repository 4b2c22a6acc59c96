"""DubKernels: visual dubbing for VFX compositing (Patel et al. 2023)."""
from dubkernels._version import __version__

__all__ = ["__version__"]
