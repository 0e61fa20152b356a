"""Claim: SSL identifies the content subspace exactly when the augmentation is strong enough.

``python -m analysis.identifiability [--out DIR] [--config FILE] [--quick]``; the computation is
:mod:`grassdyn.report.claims` (shared with ``grassdyn report``).
"""

import sys

from grassdyn.report.standalone import main

if __name__ == "__main__":
    sys.exit(main("identifiability"))
