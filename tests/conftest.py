"""Test configuration: hypothesis profiles and shared fixtures.

Profiles (select with ``HYPOTHESIS_PROFILE=<name>``):

* ``ci`` — loaded automatically when ``CI`` is set (hypothesis does this for a registered ``ci``
  profile): derandomised, no example database, no deadline, 50 examples;
* ``dev`` (default elsewhere) — 25 examples, no deadline;
* ``thorough`` — 500 examples, for a long local run.

No test uses global random state: every random array comes from ``np.random.default_rng(seed)``
with a seed drawn by hypothesis or fixed in the test.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", derandomize=True, database=None, deadline=None, max_examples=50, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "dev", deadline=None, max_examples=25, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough", deadline=None, max_examples=500, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
if os.environ.get("HYPOTHESIS_PROFILE"):
    settings.load_profile(os.environ["HYPOTHESIS_PROFILE"])
elif not os.environ.get("CI"):
    settings.load_profile("dev")
