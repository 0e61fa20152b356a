"""The claims the report checks, one module each, in report order.

Each module has ``NAME``, ``TITLE``, ``compute(cfg, progress) -> ClaimResult``
and (except :mod:`.stability`, which gives a table) ``figure(data) -> Figure``,
the figure its ``analysis/`` script writes.
"""

from grassdyn.report.claims import (
    closed_form,
    collapse,
    finite,
    identifiability,
    ntk,
    platonic,
    predictor,
    sgd_flow,
    stability,
    stepwise,
    width,
)
from grassdyn.report.claims._base import Check, ClaimResult

#: The claims in report order.
CLAIMS = (
    collapse, closed_form, sgd_flow, width, finite, identifiability, ntk, predictor, stepwise, platonic,
    stability,
)

#: Claim modules by name.
BY_NAME = {module.NAME: module for module in CLAIMS}

__all__ = ["BY_NAME", "CLAIMS", "Check", "ClaimResult"]
