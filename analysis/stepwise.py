"""Claim: Barlow Twins from a small start learns the eigenmodes one at a time, at predicted step times.

``python -m analysis.stepwise [--out DIR] [--config FILE] [--quick]``; the computation is
:mod:`grassdyn.report.claims.stepwise` (shared with ``grassdyn report``).
"""

import sys

from grassdyn.report.standalone import main

if __name__ == "__main__":
    sys.exit(main("stepwise"))
