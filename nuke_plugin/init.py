# DubKernels for Nuke: runs in every mode (GUI, nuke -x, nuke -t). Add this folder to NUKE_PATH and set
# DUBKERNELS_VENV to the engine's virtual environment (docs/compositor_guide.md).
import dubkernels_nuke.callbacks

dubkernels_nuke.callbacks.register()
