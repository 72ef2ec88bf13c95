"""Shared fixtures of the integration tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module", autouse=True)
def _registry_as_found():
    """Task files register tasks process-wide: remove what a test module added after it."""
    from algolens import tasks
    before = set(tasks.names(kind=None))
    yield
    for name in set(tasks.names(kind=None)) - before:
        tasks.unregister(name)
