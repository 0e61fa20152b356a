"""Claim: minibatch noise scales like ``B^{-1/2}``, and finite samples like ``n^{-1/2}`` (Davis–Kahan).

``python -m analysis.batch_and_samples [--out DIR] [--config FILE] [--quick]``; the computation is
:mod:`grassdyn.report.claims` (shared with ``grassdyn report``).
"""

import sys

from grassdyn.report.standalone import main

if __name__ == "__main__":
    sys.exit(main("batch_and_samples"))
