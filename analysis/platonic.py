"""Claim: below rho*, every SSL loss and optimiser learns the content subspace; above it they disagree.

``python -m analysis.platonic [--out DIR] [--config FILE] [--quick]``; the computation is
:mod:`grassdyn.report.claims.platonic` (shared with ``grassdyn report``).
"""

import sys

from grassdyn.report.standalone import main

if __name__ == "__main__":
    sys.exit(main("platonic"))
