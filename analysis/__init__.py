"""One script per claim of the Grassmannian theory of linear SSL, each a thin entry point.

Run ``python -m analysis.<name> [--out DIR] [--config FILE] [--quick]`` from
the repository root; it writes ``<name>.png``, ``<name>.svg``, ``<name>.md``
(the table of checks) and ``<name>.json`` into ``DIR`` (default
``analysis-output/``). The computations live in :mod:`grassdyn.report.claims`,
shared with ``grassdyn report``.

- ``collapse``: the unconstrained flow and SGD collapse to rank one;
- ``closed_form_exactness``: the closed form against an ODE integrator, and the rate;
- ``width_independence``: nested starts stay nested, each width at its own rate;
- ``sgd_to_flow``: exact GD converges to the flow at order one in lr, SGD at order one half;
- ``batch_and_samples``: minibatch noise against B, finite samples against n (Davis–Kahan);
- ``identifiability``: the content subspace is learned exactly when rho < min(content)/max(style);
- ``stepwise``: Barlow Twins learns its eigenmodes one at a time, at the predicted step times;
- ``platonic``: six SSL losses with SGD and Adam agree on the content subspace below rho* only.
"""
