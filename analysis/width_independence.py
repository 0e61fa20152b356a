"""Claim: the Grassmannian dynamics do not depend on the width — nested starts stay nested.

``python -m analysis.width_independence [--out DIR] [--config FILE] [--quick]``; the computation is
:mod:`grassdyn.report.claims` (shared with ``grassdyn report``).
"""

import sys

from grassdyn.report.standalone import main

if __name__ == "__main__":
    sys.exit(main("width_independence"))
