"""Docstring examples (pytest --doctest-modules) see ``np`` and ``ag`` without importing them,
and run in a temporary directory, so an example that saves a file leaves nothing behind."""

import numpy as np
import pytest
from _pytest.doctest import DoctestItem

import autograd_lite as ag


@pytest.fixture(autouse=True)
def _doctest_context(request, doctest_namespace, tmp_path, monkeypatch):
    if isinstance(request.node, DoctestItem):
        doctest_namespace.update(np=np, ag=ag)
        monkeypatch.chdir(tmp_path)
