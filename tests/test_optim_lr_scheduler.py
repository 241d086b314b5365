"""optim.lr_scheduler: each scheduler's lr sequence against its closed form, ReduceLROnPlateau's
thresholds, modes, cooldown and floor, argument checks, and state_dict round trips."""

import math

import numpy as np
import pytest
from test_optim import assert_plain, param

import autograd_lite as ag
from autograd_lite import optim
from autograd_lite.optim.lr_scheduler import (
    CosineAnnealingLR,
    ExponentialLR,
    LRScheduler,
    ReduceLROnPlateau,
    StepLR,
)


def sgd_with_lrs(*lrs):
    return optim.SGD([{"params": [param([0.0])], "lr": lr} for lr in lrs])


def lr_sequence(scheduler, epochs, metrics=None):
    """get_last_lr() at epoch 0 (on creation), then after each step()."""
    seen = [scheduler.get_last_lr()]
    for epoch in range(epochs):
        scheduler.step() if metrics is None else scheduler.step(metrics[epoch])
        seen.append(scheduler.get_last_lr())
    return seen


def test_step_lr_multiplies_by_gamma_every_step_size_epochs():
    opt = sgd_with_lrs(1.0, 0.5)
    seen = lr_sequence(StepLR(opt, step_size=3, gamma=0.1), 10)
    expected = [[base * 0.1 ** (epoch // 3) for base in (1.0, 0.5)] for epoch in range(11)]
    np.testing.assert_allclose(seen, expected, rtol=1e-12)
    assert [g["lr"] for g in opt.param_groups] == seen[-1]


def test_exponential_lr_multiplies_by_gamma_every_epoch():
    seen = lr_sequence(ExponentialLR(sgd_with_lrs(1.0, 0.2), gamma=0.9), 8)
    expected = [[base * 0.9**epoch for base in (1.0, 0.2)] for epoch in range(9)]
    np.testing.assert_allclose(seen, expected, rtol=1e-12)


def test_cosine_annealing_follows_the_half_cosine_to_eta_min_and_back():
    T_max, eta_min = 10, 0.1
    seen = lr_sequence(CosineAnnealingLR(sgd_with_lrs(1.0, 0.5), T_max, eta_min), 2 * T_max)
    expected = [[eta_min + (base - eta_min) * (1 + math.cos(math.pi * t / T_max)) / 2
                 for base in (1.0, 0.5)] for t in range(2 * T_max + 1)]
    np.testing.assert_allclose(seen, expected, rtol=1e-12)
    assert seen[T_max] == pytest.approx([eta_min, eta_min])


def test_the_optimizer_steps_with_the_scheduled_lr():
    p = param([0.0])
    opt = optim.SGD([p], lr=1.0)
    sched = StepLR(opt, step_size=2, gamma=0.5)
    for _ in range(4):                               # lrs 1, 1, 0.5, 0.5
        p.grad = ag.tensor(np.array([1.0]))
        opt.step()
        sched.step()
    np.testing.assert_allclose(p.data, [-3.0])


def test_step_lr_composes_with_changes_made_outside_it():
    opt = sgd_with_lrs(1.0)
    sched = StepLR(opt, step_size=2, gamma=0.5)
    opt.param_groups[0]["lr"] = 0.1                  # e.g. a manual warm restart
    sched.step()
    sched.step()
    assert sched.get_last_lr() == [pytest.approx(0.05)]


def test_reduce_lr_on_plateau_reduces_once_patience_is_exceeded():
    opt = sgd_with_lrs(1.0)
    sched = ReduceLROnPlateau(opt, factor=0.5, patience=2)
    # 1.0 sets the best; 0.9 improves; three epochs without improvement (more than patience=2)
    # halve lr at the third; 0.8 improves, and three more epochs halve it again
    metrics = [1.0, 0.9, 0.9, 0.9, 0.9, 0.8, 0.8, 0.8, 0.8]
    seen = lr_sequence(sched, len(metrics), metrics)
    assert seen == [[lr] for lr in [1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25]]
    assert opt.param_groups[0]["lr"] == 0.25


def test_reduce_lr_on_plateau_thresholds_modes_cooldown_and_floor():
    def lrs(metrics, lr=1.0, **options):
        sched = ReduceLROnPlateau(sgd_with_lrs(lr), **options)
        return [lr[0] for lr in lr_sequence(sched, len(metrics), metrics)][1:]

    # an improvement smaller than the threshold is no improvement
    assert lrs([1.0, 0.95], patience=0, threshold=0.1) == [1.0, 0.1]
    assert lrs([1.0, 0.85], patience=0, threshold=0.1) == [1.0, 1.0]
    assert lrs([1.0, 0.995], patience=0, threshold=0.01, threshold_mode="abs") == [1.0, 0.1]
    assert lrs([1.0, 0.98], patience=0, threshold=0.01, threshold_mode="abs") == [1.0, 1.0]
    # mode='max': larger is better
    assert lrs([0.5, 0.6, 0.7], mode="max", patience=0) == [1.0, 1.0, 1.0]
    assert lrs([0.5, 0.4], mode="max", patience=0) == [1.0, 0.1]
    # cooldown: after a reduction, two epochs in which bad epochs are not counted
    assert lrs([1.0] * 7, factor=0.5, patience=0, cooldown=2) == [1, .5, .5, .5, .25, .25, .25]
    # never below min_lr; a reduction smaller than eps is skipped
    assert lrs([1.0] * 4, factor=0.1, patience=0, min_lr=0.05) == [1.0, 0.1, 0.05, 0.05]
    assert lrs([1.0] * 2, lr=1e-8, patience=0) == [1e-8, 1e-8]
    # a one-element Tensor is a metric too
    sched = ReduceLROnPlateau(sgd_with_lrs(1.0), patience=0)
    sched.step(ag.tensor(1.0))
    sched.step(ag.tensor(2.0))
    assert sched.get_last_lr() == [0.1]


def test_scheduler_arguments_are_checked():
    opt = sgd_with_lrs(1.0, 0.1)
    cases = [
        (lambda: ReduceLROnPlateau(opt, factor=1.0), ValueError, "factor should be < 1.0"),
        (lambda: ReduceLROnPlateau(opt, mode="avg"), ValueError, "mode 'avg'"),
        (lambda: ReduceLROnPlateau(opt, threshold_mode="x"), ValueError, "threshold_mode"),
        (lambda: ReduceLROnPlateau(opt, min_lr=[0.0]), ValueError, "expected 2 min_lr"),
        (lambda: StepLR(opt, step_size=0), ValueError, "positive integer"),
        (lambda: CosineAnnealingLR(opt, T_max=0), ValueError, "T_max"),
        (lambda: ExponentialLR("opt", gamma=0.9), TypeError, "expected an Optimizer"),
    ]
    for make, error, match in cases:
        with pytest.raises(error, match=match):
            make()


SCHEDULERS = [
    lambda opt: StepLR(opt, step_size=2, gamma=0.5),
    lambda opt: ExponentialLR(opt, gamma=0.9),
    lambda opt: CosineAnnealingLR(opt, T_max=7, eta_min=0.01),
    lambda opt: ReduceLROnPlateau(opt, factor=0.5, patience=1, cooldown=1),
]


@pytest.mark.parametrize("make", SCHEDULERS, ids=["StepLR", "ExponentialLR", "Cosine", "Plateau"])
def test_scheduler_state_dict_round_trip_continues_exactly(make):
    metrics = [1.0, 0.9, 0.95, 0.97, 0.8, 0.85, 0.9, 0.91, 0.92, 0.93]
    opt = sgd_with_lrs(1.0, 0.1)
    sched = make(opt)

    def step(scheduler, epoch):
        if isinstance(scheduler, ReduceLROnPlateau):
            scheduler.step(metrics[epoch])
        else:
            scheduler.step()

    for epoch in range(4):
        step(sched, epoch)
    osd, ssd = opt.state_dict(), sched.state_dict()
    assert_plain(osd)
    assert "optimizer" not in ssd

    opt2 = sgd_with_lrs(5.0, 5.0)               # other lrs: everything must come from the dicts
    sched2 = make(opt2)
    opt2.load_state_dict(osd)
    sched2.load_state_dict(ssd)
    for epoch in range(4, len(metrics)):
        step(sched, epoch)
        step(sched2, epoch)
        assert sched2.get_last_lr() == sched.get_last_lr()
        assert [g["lr"] for g in opt2.param_groups] == [g["lr"] for g in opt.param_groups]


def test_scheduler_load_state_dict_refuses_another_schedulers_state():
    opt = sgd_with_lrs(1.0)
    with pytest.raises(ValueError, match="another scheduler"):
        StepLR(opt, 2).load_state_dict(ExponentialLR(opt, 0.9).state_dict())
    with pytest.raises(ValueError, match="one per parameter group"):
        ExponentialLR(opt, 0.9).load_state_dict(
            ExponentialLR(sgd_with_lrs(1.0, 2.0), 0.9).state_dict())


def test_reduce_lr_on_plateau_is_an_lr_scheduler_stepped_with_a_metric():
    """As in PyTorch 2.x: it subclasses LRScheduler; creating it takes no step."""
    sched = ReduceLROnPlateau(sgd_with_lrs(1.0, 0.1), patience=0)
    assert isinstance(sched, LRScheduler)
    assert sched.last_epoch == 0 and sched.get_last_lr() == [1.0, 0.1]
    sched.step(1.0)
    assert sched.last_epoch == 1


def test_errors_name_the_schedulers_own_class():
    """A subclass's errors name the subclass, not the scheduler it extends."""
    class MyStepLR(StepLR):
        pass

    class MyCosine(CosineAnnealingLR):
        pass

    class MyPlateau(ReduceLROnPlateau):
        pass

    opt = sgd_with_lrs(1.0)
    cases = [
        (lambda: MyStepLR(opt, step_size=0), ValueError, "MyStepLR: step_size"),
        (lambda: MyStepLR("opt", step_size=1), TypeError, "MyStepLR: expected an Optimizer"),
        (lambda: MyCosine(opt, T_max=0), ValueError, "MyCosine: T_max"),
        (lambda: MyPlateau(opt, factor=1.0), ValueError, "MyPlateau: factor"),
        (lambda: MyPlateau(opt, mode="avg"), ValueError, "MyPlateau: mode 'avg'"),
        (lambda: MyPlateau(opt, threshold_mode="x"), ValueError, "MyPlateau: threshold_mode"),
        (lambda: MyPlateau(opt, min_lr=[0.0, 0.0]), ValueError, "MyPlateau: expected 1 min_lr"),
        (lambda: MyPlateau("opt"), TypeError, "MyPlateau: expected an Optimizer"),
        (lambda: MyPlateau(opt).load_state_dict({}), ValueError, "MyPlateau.load_state_dict:"),
    ]
    for make, error, match in cases:
        with pytest.raises(error, match=f"^{match}"):
            make()
