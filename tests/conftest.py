"""Test configuration: hypothesis profiles.

``ci`` (the default) is derandomised with bounded examples, so every run of
the suite is reproducible; ``thorough`` explores many more random examples for
local runs: ``HYPOTHESIS_PROFILE=thorough pytest``.
"""

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=30,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "thorough",
    max_examples=500,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def small_machine(monkeypatch):
    """Stand in for a machine with little free memory: ``small_machine(nbytes)``.

    Every request then goes through the size guard (none is small enough to
    skip it), so a test can show a refusal without allocating gigabytes.
    """

    def shrink(nbytes: int) -> None:
        monkeypatch.setattr("grassdyn._validation.available_memory", lambda: nbytes)
        monkeypatch.setattr("grassdyn._validation.SMALL_REQUEST_BYTES", 0)

    return shrink
