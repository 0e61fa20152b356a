"""Claim: the unconstrained flow ``dW/dt = C W`` collapses to a rank-one representation.

``python -m analysis.collapse [--out DIR] [--config FILE] [--quick]``; the computation is
:mod:`grassdyn.report.claims` (shared with ``grassdyn report``).
"""

import sys

from grassdyn.report.standalone import main

if __name__ == "__main__":
    sys.exit(main("collapse"))
