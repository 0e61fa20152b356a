"""``grassdyn report``: check the Grassmannian theory of linear SSL against simulation.

- :mod:`~grassdyn.report.config`: the embedded default configuration and its validation;
- :mod:`~grassdyn.report.claims`: one module per claim, computing its numbers and checks;
- :mod:`~grassdyn.report.figures`: the five report figures;
- :mod:`~grassdyn.report.run`: writing figures, ``results.json`` and ``summary.md``;
- :mod:`~grassdyn.report.schema`: the documented schema of ``results.json``.

The ``analysis/`` scripts and the command both call this code.
"""
