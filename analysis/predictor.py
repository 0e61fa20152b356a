"""Claim: SimSiam with a linear predictor follows its eigenmode ODE, aligns, and collapses above eta*.

``python -m analysis.predictor [--out DIR] [--config FILE] [--quick]``; the computation is
:mod:`grassdyn.report.claims.predictor` (shared with ``grassdyn report``): SGD, the matrix ODE and the
eigenmode ODE of Tian, Chen & Ganguli (ICML 2021), the eigen-alignment of the predictor with the
correlation, and collapse on either side of the weight-decay threshold ``m^2 / (4 sigma)``.
"""

import sys

from grassdyn.report.standalone import main

if __name__ == "__main__":
    sys.exit(main("predictor"))
