# DubKernels for Nuke: GUI only. The DubKernels menu in the Nodes toolbar.
import dubkernels_nuke.menu

dubkernels_nuke.menu.build()
