"""autograd_lite.debug: graph size and the graph-growth guard for training loops."""

import warnings

import pytest

import autograd_lite as ag


def test_graph_size_counts_the_ops_in_a_history():
    x = ag.tensor([1.0], requires_grad=True)
    assert ag.graph_size(x) == 0
    y = ag.exp(x * 2) + x       # mul, exp, add
    assert ag.graph_size(y) == 3
    assert ag.graph_size(y + y) == 4  # shared history is counted once


def test_guard_warns_once_about_an_accumulated_loss_and_says_how_to_fix_it():
    w = ag.tensor([1.0], requires_grad=True)
    guard = ag.GraphGrowthGuard(patience=3)
    total = 0.0
    with pytest.warns(ag.GraphGrowthWarning, match=r"total .*loss.item\(\).*detach\(\)") as record:
        for _ in range(8):
            loss = (w * 2).sum()
            total = total + loss
            guard.check(total, "total")
    assert len(record) == 1
    assert guard.sizes == [3 * k for k in range(1, 9)]  # each iteration adds mul, sum, add


def test_guard_is_quiet_for_a_correct_loop():
    w = ag.tensor([1.0], requires_grad=True)
    guard = ag.GraphGrowthGuard()
    total = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(10):
            loss = (w * 2).sum()
            loss.backward()
            total += loss.item()
            guard.check(loss, "loss")
    assert guard.sizes == [2] * 10
