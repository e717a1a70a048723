"""Fixtures for the push tests: a CA, generated credentials and a registry."""

from __future__ import annotations

import pytest
from push_testkit import Authority, MemoryRegistry, Outcomes


@pytest.fixture(scope="session")
def authority() -> Authority:
    return Authority()


@pytest.fixture
def registry() -> MemoryRegistry:
    return MemoryRegistry()


@pytest.fixture
def outcomes() -> Outcomes:
    return Outcomes()
