"""Claim: SGD follows the flow as the learning rate goes to zero — exact GD at order one.

``python -m analysis.sgd_to_flow [--out DIR] [--config FILE] [--quick]``; the computation is
:mod:`grassdyn.report.claims` (shared with ``grassdyn report``).
"""

import sys

from grassdyn.report.standalone import main

if __name__ == "__main__":
    sys.exit(main("sgd_to_flow"))
