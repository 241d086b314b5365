"""Hypothesis profiles: `ci` (default; derandomized, bounded, no deadline) and `dev` (searches
harder). Pick one with HYPOTHESIS_PROFILE=dev."""

import os

from hypothesis import HealthCheck, settings

import autograd_lite as ag

settings.register_profile(
    "ci", derandomize=True, max_examples=30, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile(
    "dev", max_examples=300, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_report_header(config):
    shipped = [op for op in ag.ops.REGISTRY.values() if op.__module__.startswith("autograd_lite.")]
    differentiable = sum(op.differentiable for op in shipped)
    return (f"autograd_lite {ag.__version__}: {len(shipped)} registered ops, {differentiable} "
            f"differentiable; hypothesis profile {settings().max_examples} examples")
