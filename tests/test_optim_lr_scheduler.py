"""optim.lr_scheduler: each scheduler's lr sequence against its closed form or a sequence worked
out by hand from PyTorch's formulas, ReduceLROnPlateau's thresholds, modes, cooldown and floor,
OneCycleLR's momentum cycling, SequentialLR's hand-overs, argument checks, and state_dict round
trips."""

import math

import numpy as np
import pytest
from test_optim import assert_plain, param

import autograd_lite as ag
from autograd_lite import optim
from autograd_lite.optim.lr_scheduler import (
    CosineAnnealingLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    LRScheduler,
    MultiStepLR,
    OneCycleLR,
    ReduceLROnPlateau,
    SequentialLR,
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
    lambda opt: LambdaLR(opt, [lambda e: 0.9**e, lambda e: 1 / (e + 1)]),
    lambda opt: MultiStepLR(opt, milestones=[2, 5, 7], gamma=0.5),
    lambda opt: LinearLR(opt, start_factor=0.2, total_iters=6),
    lambda opt: OneCycleLR(opt, max_lr=[1.0, 0.5], total_steps=10),
    lambda opt: SequentialLR(opt, [LinearLR(opt, 0.5, total_iters=3), ExponentialLR(opt, 0.8)],
                             milestones=[5]),
]


@pytest.mark.parametrize("make", SCHEDULERS, ids=[
    "StepLR", "ExponentialLR", "Cosine", "Plateau", "LambdaLR", "MultiStepLR", "LinearLR",
    "OneCycleLR", "SequentialLR"])
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


# ---- LambdaLR, MultiStepLR, LinearLR ---------------------------------------------------------


def test_lambda_lr_is_the_initial_lr_times_the_lambda_one_per_group():
    opt = sgd_with_lrs(1.0, 0.5)
    seen = lr_sequence(LambdaLR(opt, [lambda e: 1 / (e + 1), lambda e: 0.5**e]), 3)
    assert seen == [[1.0, 0.5], [1 / 2, 0.25], [1 / 3, 0.125], [1 / 4, 0.0625]]
    seen = lr_sequence(LambdaLR(sgd_with_lrs(2.0, 4.0), lambda e: e + 1), 2)   # one for all
    assert seen == [[2.0, 4.0], [4.0, 8.0], [6.0, 12.0]]


def test_lambda_lr_state_dict_keeps_a_callable_objects_attributes_and_skips_functions():
    class Warmup:
        def __init__(self, epochs):
            self.epochs = epochs

        def __call__(self, epoch):
            return min(1.0, (epoch + 1) / self.epochs)

    sched = LambdaLR(sgd_with_lrs(1.0, 1.0), [Warmup(4), lambda e: 1.0])
    state = sched.state_dict()
    assert state["lr_lambdas"] == [{"epochs": 4}, None]
    other = LambdaLR(sgd_with_lrs(1.0, 1.0), [Warmup(10), lambda e: 2.0])
    kept = other.lr_lambdas
    other.load_state_dict(state)
    assert other.lr_lambdas == kept and kept[0].epochs == 4   # the objects stay, updated


def test_multistep_lr_multiplies_by_gamma_at_each_milestone():
    seen = lr_sequence(MultiStepLR(sgd_with_lrs(1.0), milestones=[2, 5], gamma=0.1), 6)
    np.testing.assert_allclose(seen, [[1.0], [1.0], [0.1], [0.1], [0.1], [0.01], [0.01]])
    # unsorted milestones are fine; one given twice multiplies twice
    seen = lr_sequence(MultiStepLR(sgd_with_lrs(1.0), milestones=[5, 2, 5], gamma=0.5), 6)
    assert seen == [[1.0], [1.0], [0.5], [0.5], [0.5], [0.125], [0.125]]


def test_linear_lr_warms_up_linearly_then_holds():
    seen = lr_sequence(LinearLR(sgd_with_lrs(2.0), start_factor=0.25, total_iters=3), 5)
    np.testing.assert_allclose(seen, [[0.5], [1.0], [1.5], [2.0], [2.0], [2.0]], rtol=1e-12)
    # PyTorch's defaults: start_factor=1/3, end_factor=1, total_iters=5
    seen = lr_sequence(LinearLR(sgd_with_lrs(3.0)), 6)
    np.testing.assert_allclose(seen, [[1.0], [1.4], [1.8], [2.2], [2.6], [3.0], [3.0]],
                               rtol=1e-12)
    seen = lr_sequence(LinearLR(sgd_with_lrs(1.0), 1.0, end_factor=0.0, total_iters=4), 5)
    np.testing.assert_allclose(seen, [[1.0], [0.75], [0.5], [0.25], [0.0], [0.0]], atol=1e-15)


def test_a_scheduler_created_after_another_starts_from_the_initial_lr():
    """base_lrs are the lrs the optimizer had when its first scheduler came (PyTorch's
    initial_lr), not the warm-up's current lr."""
    opt = sgd_with_lrs(1.0)
    LinearLR(opt, start_factor=0.1, total_iters=2)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1)
    assert ExponentialLR(opt, gamma=0.5).base_lrs == [1.0]


# ---- OneCycleLR ------------------------------------------------------------------------------


def one_cycle(opt, steps, **options):
    """(lrs, momentums) of group 0 at each step, from creation to ``steps`` steps."""
    sched = OneCycleLR(opt, **options)
    key = "betas" if "betas" in opt.defaults else "momentum"
    moment = (lambda: opt.param_groups[0]["betas"][0]) if key == "betas" \
        else (lambda: opt.param_groups[0]["momentum"])
    lrs, moms = [sched.get_last_lr()[0]], [moment()]
    for _ in range(steps):
        sched.step()
        lrs.append(sched.get_last_lr()[0])
        moms.append(moment())
    return lrs, moms


def test_one_cycle_cos_rises_then_anneals_and_cycles_momentum_the_other_way():
    # total 5, pct_start 0.4: up over steps 0..1, then down over 1..4 (angles of pi/3);
    # lr from 1/4 to 1 to 1/4/2.5 = 0.1; momentum from 0.95 to 0.85 and back
    opt = optim.SGD([param([0.0])], lr=0.1, momentum=0.9)
    lrs, moms = one_cycle(opt, 4, max_lr=1.0, total_steps=5, pct_start=0.4, div_factor=4.0,
                          final_div_factor=2.5)
    np.testing.assert_allclose(lrs, [0.25, 1.0, 0.775, 0.325, 0.1], rtol=1e-12)
    np.testing.assert_allclose(moms, [0.95, 0.85, 0.875, 0.925, 0.95], rtol=1e-12)


def test_one_cycle_defaults_and_adams_beta1():
    # div_factor 25, final_div_factor 1e4, pct_start 0.3 (up over steps 0..2), cos, momentum
    # between 0.85 and 0.95 in beta1 (beta2 kept)
    opt = optim.Adam([param([0.0])], lr=123.0)
    lrs, moms = one_cycle(opt, 9, max_lr=2.5, total_steps=10)
    assert lrs[:3] == pytest.approx([0.1, 1.3, 2.5])
    assert lrs[9] == pytest.approx(1e-5)
    assert moms[0] == pytest.approx(0.95) and moms[2] == pytest.approx(0.85)
    assert moms[9] == pytest.approx(0.95) and opt.param_groups[0]["betas"][1] == 0.999


def test_one_cycle_linear_three_phase():
    opt = optim.SGD([param([0.0])], lr=0.1)
    lrs, moms = one_cycle(opt, 9, max_lr=1.0, total_steps=10, anneal_strategy="linear",
                          three_phase=True, div_factor=4.0, final_div_factor=2.5)
    expected = [0.25, 0.625, 1.0, 0.625, 0.25, 0.22, 0.19, 0.16, 0.13, 0.1]
    np.testing.assert_allclose(lrs, expected, rtol=1e-12)
    # SGD made without momentum gets it (PyTorch's behaviour): down, back up, then held
    np.testing.assert_allclose(moms, [0.95, 0.9, 0.85, 0.9, 0.95] + [0.95] * 5, rtol=1e-12)


def test_one_cycle_may_step_total_steps_times_then_refuses():
    opt = sgd_with_lrs(1.0)
    sched = OneCycleLR(opt, max_lr=1.0, epochs=2, steps_per_epoch=2, cycle_momentum=False,
                       anneal_strategy="linear", pct_start=0.5, div_factor=2.0,
                       final_div_factor=5.0)
    # total 4 steps: up over 0..1, down to 0.1 over 1..3; step 4 extrapolates, as PyTorch
    np.testing.assert_allclose(lr_sequence(sched, 4), [[0.5], [1.0], [0.55], [0.1], [-0.35]])
    with pytest.raises(ValueError, match="OneCycleLR: Tried to step 5 times.*total steps is 4"):
        sched.step()


def test_one_cycle_without_cycle_momentum_leaves_momentum_alone_and_its_lr_is_the_base():
    opt = optim.SGD([param([0.0])], lr=0.1, momentum=0.5)
    one_cycle(opt, 3, max_lr=1.0, total_steps=3, cycle_momentum=False)
    assert opt.param_groups[0]["momentum"] == 0.5
    opt = sgd_with_lrs(7.0)
    OneCycleLR(opt, max_lr=2.5, total_steps=10)
    assert ExponentialLR(opt, gamma=0.5).base_lrs == [0.1]   # PyTorch's initial_lr is max/25


# ---- SequentialLR ----------------------------------------------------------------------------


def test_sequential_lr_hands_over_at_the_milestones_from_the_initial_lr():
    opt = sgd_with_lrs(1.0, 2.0)
    warmup = LinearLR(opt, start_factor=0.5, total_iters=2)
    cosine = CosineAnnealingLR(opt, T_max=2)
    seen = lr_sequence(SequentialLR(opt, [warmup, cosine], milestones=[2]), 4)
    np.testing.assert_allclose(seen, [[0.5, 1], [0.75, 1.5], [1, 2], [0.5, 1], [0, 0]], atol=1e-15)


def test_sequential_lr_restarts_each_scheduler_at_its_epoch_zero():
    opt = sgd_with_lrs(1.0)
    first = ExponentialLR(opt, gamma=0.5)
    second = MultiStepLR(opt, milestones=[1], gamma=0.1)
    third = StepLR(opt, step_size=1, gamma=0.5)
    sched = SequentialLR(opt, [first, second, third], milestones=[2, 4])
    seen = lr_sequence(sched, 6)
    np.testing.assert_allclose(seen, [[1.0], [0.5], [1.0], [0.1], [1.0], [0.5], [0.25]])
    assert (first.last_epoch, second.last_epoch, third.last_epoch) == (1, 1, 2)


# ---- argument checks -------------------------------------------------------------------------


def test_new_scheduler_arguments_are_checked():
    opt = sgd_with_lrs(1.0, 0.1)
    adagrad = optim.Adagrad([param([0.0])])
    other = sgd_with_lrs(1.0, 0.1)
    cases = [
        (lambda: LambdaLR(opt, [lambda e: 1.0]), ValueError, "expected 2 lr_lambda values"),
        (lambda: LambdaLR(opt, 0.5), TypeError, "lr_lambda must be a function"),
        (lambda: MultiStepLR(opt, milestones=[2, 2.5]), ValueError, "milestone"),
        (lambda: LinearLR(opt, start_factor=0), ValueError, "Starting multiplicative factor"),
        (lambda: LinearLR(opt, end_factor=1.5), ValueError, "Ending multiplicative factor"),
        (lambda: LinearLR(opt, total_iters=0), ValueError, "total_iters"),
        (lambda: OneCycleLR(opt, 1.0), ValueError, "either total_steps OR"),
        (lambda: OneCycleLR(opt, 1.0, total_steps=0), ValueError, "total_steps"),
        (lambda: OneCycleLR(opt, 1.0, epochs=2, steps_per_epoch=1.5), ValueError, "steps_per"),
        (lambda: OneCycleLR(opt, 1.0, 10, pct_start=1), ValueError, "pct_start"),
        (lambda: OneCycleLR(opt, 1.0, 10, anneal_strategy="exp"), ValueError, "'cos' or"),
        (lambda: OneCycleLR(opt, [1.0], 10), ValueError, "expected 2 max_lr values"),
        (lambda: OneCycleLR(adagrad, 1.0, 10), ValueError, "momentum or beta1"),
        (lambda: OneCycleLR("opt", 1.0, 10), TypeError, "expected an Optimizer"),
        (lambda: SequentialLR(opt, [], []), ValueError, "at least one scheduler"),
        (lambda: SequentialLR(opt, [StepLR(opt, 1)] * 2, []), ValueError, "one more than"),
        (lambda: SequentialLR(opt, [StepLR(opt, 1)] * 3, [3, 2]), ValueError, "increasing"),
        (lambda: SequentialLR(opt, [ReduceLROnPlateau(opt)], []), ValueError, "ReduceLROn"),
        (lambda: SequentialLR(opt, [StepLR(other, 1)], []), ValueError, "same optimizer"),
        (lambda: SequentialLR(opt, ["StepLR"], []), TypeError, "not an LRScheduler"),
    ]
    for make, error, match in cases:
        with pytest.raises(error, match=match):
            make()
