"""Claim: Oja's flow is solved exactly by the closed form, and converges at rate ``lam_h - lam_{h+1}``.

``python -m analysis.closed_form_exactness [--out DIR] [--config FILE] [--quick]``; the computation is
:mod:`grassdyn.report.claims` (shared with ``grassdyn report``).
"""

import sys

from grassdyn.report.standalone import main

if __name__ == "__main__":
    sys.exit(main("closed_form_exactness"))
