"""Claim: the NTK picture holds for supervised training and fails for SSL with a Grassmannian output layer.

``python -m analysis.ntk [--out DIR] [--config FILE] [--quick]``; the computation is
:mod:`grassdyn.report.claims.ntk` (shared with ``grassdyn report``). For larger widths than the
report's, pass a configuration with an ``[ntk]`` section (e.g. ``widths = [64, ..., 4096]``,
``rf_widths = [100, ..., 1000000]``).
"""

import sys

from grassdyn.report.standalone import main

if __name__ == "__main__":
    sys.exit(main("ntk"))
