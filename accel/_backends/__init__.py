"""One module per backend, each defining every kernel in ``accel._dispatch.KERNELS``.

The modules are imported only by the dispatcher, on first use.
"""
