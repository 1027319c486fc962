"""Attunement application: composition root, session engine, CLI and (only here) the Qt GUI."""

import os as _os

__version__ = "0.1.0"

# One BLAS thread unless the user chose otherwise: every matrix product of the analysis is
# small (SUSY's segment pairs, the coupling replay's shift table), where OpenBLAS's own
# threads only spin, and the cores are used by processes (app.analysis.batch). On the shared
# 2-core machine one SUSY run took 0.99 s with OpenBLAS's threads and 0.11 s without. Set
# here, before anything in the application loads numpy.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    _os.environ.setdefault(_var, "1")
