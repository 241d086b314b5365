"""Hypothesis profiles: `ci` (default; derandomized, bounded, no deadline), `matrix` (`ci` with
fewer examples) and `dev` (searches harder). Pick one with HYPOTHESIS_PROFILE=dev.

`ci`'s max_examples is the budget of the registry test (tests/test_registry.py sets none of its
own) and of most others, so it sets most of CI's length: at 50 the whole suite took 4 minutes
on a 2-core machine shared with other jobs; each extra example costs about 2 s, 1.3 s of it in
the registry test. CI runs the suite once with `ci` (the README's command), then again on each
other Python version with `matrix`: those runs look for what differs between versions, not for
new examples, and three of them must share two cores within CI's 20 minutes."""

import os

from hypothesis import HealthCheck, settings

import autograd_lite as ag

settings.register_profile(
    "ci", derandomize=True, max_examples=50, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("matrix", settings.get_profile("ci"), max_examples=10)
settings.register_profile(
    "dev", max_examples=300, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_report_header(config):
    shipped = [op for op in ag.ops.REGISTRY.values() if op.__module__.startswith("autograd_lite.")]
    differentiable = sum(op.differentiable for op in shipped)
    return (f"autograd_lite {ag.__version__}: {len(shipped)} registered ops, {differentiable} "
            f"differentiable; hypothesis profile {settings().max_examples} examples")
