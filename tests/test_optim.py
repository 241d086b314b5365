"""optim: each update rule against PyTorch's documented algorithm, written out in numpy below;
parameter groups, state_dict round trips, errors; and the issue's done-when: linear and logistic
regression reach their exact optimum with every optimizer. The schedulers are tested in
test_optim_lr_scheduler.py, gradient clipping in test_nn_utils.py."""

import copy

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite import nn, optim

# ---------------------------------------------------------------------------------------------
# The documented algorithms (pytorch.org/docs, torch.optim.<Name>), line by line in numpy.
# Each takes the initial parameter and one gradient per step, and returns theta after each step.


def sgd_reference(theta, grads, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
                  nesterov=False, maximize=False):
    thetas, b = [], None
    for t, g in enumerate(grads, start=1):
        # maximize: the gradient is negated first, as Adam's documented algorithm and PyTorch's
        # SGD code do (SGD's pseudo-code instead adds, at the end, the step it would subtract:
        # the same unless weight_decay != 0, where PyTorch's code keeps decaying the weights)
        g = -g if maximize else g
        if weight_decay != 0:
            g = g + weight_decay * theta
        if momentum != 0:
            b = g if t == 1 else momentum * b + (1 - dampening) * g
            g = g + momentum * b if nesterov else b
        theta = theta - lr * g
        thetas.append(theta)
    return np.array(thetas)


def adam_reference(theta, grads, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                   amsgrad=False, maximize=False):
    beta1, beta2 = betas
    m = v = v_max = np.zeros_like(theta)
    thetas = []
    for t, g in enumerate(grads, start=1):
        g = -g if maximize else g
        if weight_decay != 0:
            g = g + weight_decay * theta
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        m_hat = m / (1 - beta1**t)
        if amsgrad:
            v_max = np.maximum(v_max, v)
            v_hat = v_max / (1 - beta2**t)
        else:
            v_hat = v / (1 - beta2**t)
        theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
        thetas.append(theta)
    return np.array(thetas)


def adamw_reference(theta, grads, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                    amsgrad=False, maximize=False):
    beta1, beta2 = betas
    m = v = v_max = np.zeros_like(theta)
    thetas = []
    for t, g in enumerate(grads, start=1):
        g = -g if maximize else g
        theta = theta - lr * weight_decay * theta           # decoupled: not in m nor v
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        m_hat = m / (1 - beta1**t)
        if amsgrad:
            v_max = np.maximum(v_max, v)
            v_hat = v_max / (1 - beta2**t)
        else:
            v_hat = v / (1 - beta2**t)
        theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
        thetas.append(theta)
    return np.array(thetas)


def rmsprop_reference(theta, grads, lr, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                      centered=False, maximize=False):
    v = b = g_ave = np.zeros_like(theta)
    thetas = []
    for g in grads:
        g = -g if maximize else g
        if weight_decay != 0:
            g = g + weight_decay * theta
        v = alpha * v + (1 - alpha) * g**2
        v_tilde = v
        if centered:
            g_ave = g_ave * alpha + (1 - alpha) * g
            v_tilde = v_tilde - g_ave**2
        if momentum > 0:
            b = momentum * b + g / (np.sqrt(v_tilde) + eps)
            theta = theta - lr * b
        else:
            theta = theta - lr * g / (np.sqrt(v_tilde) + eps)
        thetas.append(theta)
    return np.array(thetas)


def adagrad_reference(theta, grads, lr, lr_decay=0.0, weight_decay=0.0,
                      initial_accumulator_value=0.0, eps=1e-10, maximize=False):
    state_sum = np.full_like(theta, initial_accumulator_value)
    thetas = []
    for t, g in enumerate(grads, start=1):
        g = -g if maximize else g
        lr_t = lr / (1 + (t - 1) * lr_decay)
        if weight_decay != 0:
            g = g + weight_decay * theta
        state_sum = state_sum + g**2
        theta = theta - lr_t * g / (np.sqrt(state_sum) + eps)
        thetas.append(theta)
    return np.array(thetas)


# One gradient per step, as if from a noisy loss: signs change, and sizes drop by 30x or more
# right after a large one, so v_t decreases and AMSGrad's running maximum matters.
THETA0 = np.array([0.5, -1.0, 2.0])
GRADS = np.array([[3.0, -0.5, 1.0],
                  [0.05, 0.8, -2.0],
                  [-1.0, 0.02, 0.5],
                  [0.5, -1.5, 0.01],
                  [-0.2, 0.3, -0.7]])


def run_optimizer(make, grads=GRADS, theta0=THETA0, dtype=np.float64):
    """Feed the gradients to an optimizer over one parameter; theta after each step."""
    p = ag.tensor(theta0.astype(dtype), requires_grad=True)
    opt = make([p])
    thetas = []
    for g in grads:
        p.grad = ag.tensor(g.astype(dtype))
        opt.step()
        thetas.append(p.data.copy())
    return np.array(thetas)


CASES = [
    (optim.SGD, sgd_reference, dict(lr=0.1)),
    (optim.SGD, sgd_reference, dict(lr=0.1, momentum=0.9)),
    (optim.SGD, sgd_reference, dict(lr=0.1, momentum=0.9, dampening=0.3)),
    (optim.SGD, sgd_reference, dict(lr=0.1, momentum=0.9, nesterov=True)),
    (optim.SGD, sgd_reference, dict(lr=0.1, weight_decay=0.1)),
    (optim.SGD, sgd_reference, dict(lr=0.1, momentum=0.8, weight_decay=0.1, nesterov=True)),
    (optim.SGD, sgd_reference, dict(lr=0.1, maximize=True)),
    (optim.SGD, sgd_reference, dict(lr=0.1, momentum=0.9, weight_decay=0.1, maximize=True)),
    (optim.Adam, adam_reference, dict(lr=0.1)),
    (optim.Adam, adam_reference, dict(lr=0.1, betas=(0.8, 0.9), eps=1e-3)),
    (optim.Adam, adam_reference, dict(lr=0.1, weight_decay=0.1)),
    (optim.Adam, adam_reference, dict(lr=0.1, amsgrad=True)),
    (optim.Adam, adam_reference, dict(lr=0.1, maximize=True)),
    (optim.Adam, adam_reference, dict(lr=0.1, weight_decay=0.1, amsgrad=True, maximize=True)),
    (optim.AdamW, adamw_reference, dict(lr=0.1)),
    (optim.AdamW, adamw_reference, dict(lr=0.1, weight_decay=0.5, betas=(0.5, 0.9))),
    (optim.AdamW, adamw_reference, dict(lr=0.1, weight_decay=0.5, amsgrad=True)),
    (optim.AdamW, adamw_reference, dict(lr=0.1, maximize=True)),
    (optim.RMSprop, rmsprop_reference, dict(lr=0.01)),
    (optim.RMSprop, rmsprop_reference, dict(lr=0.01, alpha=0.9, eps=0.1)),
    (optim.RMSprop, rmsprop_reference, dict(lr=0.01, weight_decay=0.1)),
    (optim.RMSprop, rmsprop_reference, dict(lr=0.01, momentum=0.9)),
    (optim.RMSprop, rmsprop_reference, dict(lr=0.01, centered=True)),
    (optim.RMSprop, rmsprop_reference, dict(lr=0.01, centered=True, momentum=0.5,
                                            weight_decay=0.1)),
    (optim.RMSprop, rmsprop_reference, dict(lr=0.01, maximize=True)),
    (optim.Adagrad, adagrad_reference, dict(lr=0.1)),
    (optim.Adagrad, adagrad_reference, dict(lr=0.1, lr_decay=0.5)),
    (optim.Adagrad, adagrad_reference, dict(lr=0.1, weight_decay=0.1)),
    (optim.Adagrad, adagrad_reference, dict(lr=0.1, initial_accumulator_value=0.5, eps=0.1)),
    (optim.Adagrad, adagrad_reference, dict(lr=0.1, maximize=True)),
]


def _case_id(case):
    cls, _, options = case
    return cls.__name__ + "(" + ",".join(f"{k}={v}" for k, v in options.items()) + ")"


@pytest.mark.parametrize("cls, reference, options", CASES, ids=[_case_id(c) for c in CASES])
def test_update_rule_matches_the_documented_algorithm(cls, reference, options):
    expected = reference(THETA0, GRADS, **options)
    actual = run_optimizer(lambda params: cls(params, **options))
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-14)
    if set(options) != {"lr"}:  # the options change the trajectory, so the test can see them
        assert not np.allclose(expected, reference(THETA0, GRADS, lr=options["lr"]))


def test_defaults_are_pytorchs():
    p = ag.tensor(np.zeros(2), requires_grad=True)
    assert optim.SGD([p]).defaults == dict(lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                                           nesterov=False, maximize=False)
    assert optim.Adam([p]).defaults == dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                                            weight_decay=0, amsgrad=False, maximize=False)
    assert optim.AdamW([p]).defaults["weight_decay"] == 1e-2
    assert optim.RMSprop([p]).defaults == dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0,
                                               momentum=0, centered=False, maximize=False)
    assert optim.Adagrad([p]).defaults == dict(lr=1e-2, lr_decay=0, weight_decay=0,
                                               initial_accumulator_value=0, eps=1e-10,
                                               maximize=False)


def test_schedulers_and_clipping_keep_their_old_names():
    """optim.StepLR and the others are optim.lr_scheduler's; optim.clip_grad_*_ are nn.utils'."""
    for name in ("LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR",
                 "ReduceLROnPlateau"):
        assert getattr(optim, name) is getattr(optim.lr_scheduler, name), name
    assert optim.clip_grad_norm_ is nn.utils.clip_grad_norm_
    assert optim.clip_grad_value_ is nn.utils.clip_grad_value_


# ---------------------------------------------------------------------------------------------
# Parameter groups, zero_grad, skipped parameters, dtype, no graph


def param(values, dtype=np.float64):
    return ag.tensor(np.array(values, dtype=dtype), requires_grad=True)


def test_parameter_groups_have_their_own_options():
    w, b = param([1.0, 2.0]), param([3.0])
    opt = optim.SGD([{"params": [w]}, {"params": [b], "lr": 0.01, "momentum": 0.9}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01]
    assert [g["momentum"] for g in opt.param_groups] == [0, 0.9]  # unset options: defaults
    gw, gb = np.array([[1.0, -1.0], [0.5, 0.5]]), np.array([[2.0], [-1.0]])
    for step in range(2):
        w.grad, b.grad = ag.tensor(gw[step]), ag.tensor(gb[step])
        opt.step()
    np.testing.assert_allclose(w.data, sgd_reference(np.array([1.0, 2.0]), gw, lr=0.1)[-1])
    np.testing.assert_allclose(b.data, sgd_reference(np.array([3.0]), gb, lr=0.01,
                                                     momentum=0.9)[-1])


def test_add_param_group_takes_the_defaults_for_what_it_leaves_out():
    w, b = param([1.0]), param([2.0])
    opt = optim.Adam([w], lr=0.1)
    opt.add_param_group({"params": b, "betas": (0.5, 0.5)})
    assert opt.param_groups[1]["params"] == [b]
    assert opt.param_groups[1]["lr"] == 0.1 and opt.param_groups[1]["betas"] == (0.5, 0.5)
    with pytest.raises(ValueError, match="more than once"):
        opt.add_param_group({"params": [w]})


def test_zero_grad_sets_grads_to_none_or_to_zeros():
    w, b, unused = param([1.0, 2.0]), param([3.0], np.float32), param([0.0])
    opt = optim.SGD([w, b, unused], lr=0.1)
    (w.sum() * 2 + b.sum()).backward()
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(w.grad.data, [0.0, 0.0])
    assert b.grad.dtype == np.float32 and unused.grad is None
    opt.zero_grad()
    assert w.grad is None and b.grad is None
    (w**3).sum().backward(create_graph=True)      # a grad that is part of a graph ...
    opt.zero_grad(set_to_none=False)
    assert w.grad.grad_fn is None                 # ... becomes a plain zero tensor
    np.testing.assert_array_equal(w.grad.data, [0.0, 0.0])


def test_parameters_without_grad_are_skipped():
    w, frozen = param([1.0, 2.0]), param([3.0])
    opt = optim.Adam([w, frozen], lr=0.1)
    w.grad = ag.tensor(np.array([1.0, 1.0]))
    opt.step()
    np.testing.assert_array_equal(frozen.data, [3.0])
    assert frozen not in opt.state and list(opt.state_dict()["state"]) == [0]


ALL_OPTIONS = [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1),
    lambda ps: optim.Adam(ps, lr=0.1, amsgrad=True, weight_decay=0.1),
    lambda ps: optim.AdamW(ps, lr=0.1, amsgrad=True),
    lambda ps: optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True, weight_decay=0.1),
    lambda ps: optim.Adagrad(ps, lr=0.1, lr_decay=0.1, weight_decay=0.1),
]
NAMES = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"]


@pytest.mark.parametrize("make", ALL_OPTIONS, ids=NAMES)
def test_float32_stays_float32_and_no_graph_is_recorded(make):
    p = param(THETA0, np.float32)
    opt = make([p])
    for g in GRADS:
        p.grad = ag.tensor(g.astype(np.float32))
        opt.step()
    assert p.dtype == np.float32 and p.is_leaf and p.requires_grad
    assert all(v.dtype == np.float32 for v in opt.state[p].values() if isinstance(v, np.ndarray))
    np.testing.assert_allclose(p.data, run_optimizer(make)[-1], rtol=1e-5)


def test_step_is_an_in_place_write_that_old_graphs_notice():
    p = param([1.0, 2.0])
    opt = optim.SGD([p], lr=0.1)
    loss = (p * p).sum()           # saves p's value for the gradient
    p.grad = ag.tensor(np.array([1.0, 1.0]))
    opt.step()                     # ... which the step overwrites
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        loss.backward()


def test_step_calls_the_closure_with_gradients_enabled_and_returns_its_loss():
    p = param([1.0, -2.0])
    opt = optim.SGD([p], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with ag.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 5.0
    np.testing.assert_allclose(p.data, [1.0 - 0.25 * 2.0, -2.0 + 0.25 * 4.0])


# ---------------------------------------------------------------------------------------------
# Errors


@pytest.mark.parametrize("make, match", [
    (lambda ps: optim.SGD(ps, lr=-0.1), "Invalid learning rate: -0.1"),
    (lambda ps: optim.SGD(ps, momentum=-0.5), "Invalid momentum value"),
    (lambda ps: optim.SGD(ps, weight_decay=-1), "Invalid weight_decay value"),
    (lambda ps: optim.SGD(ps, nesterov=True), "Nesterov momentum requires a momentum"),
    (lambda ps: optim.SGD(ps, momentum=0.9, dampening=0.1, nesterov=True), "zero dampening"),
    (lambda ps: optim.SGD([{"params": ps, "lr": -1}], lr=0.1), "in parameter group 0"),
    (lambda ps: optim.Adam(ps, betas=(1.0, 0.999)), "Invalid beta parameter at index 0"),
    (lambda ps: optim.Adam(ps, betas=(0.9, -0.1)), "Invalid beta parameter at index 1"),
    (lambda ps: optim.Adam(ps, betas=0.9), "betas must be a pair"),
    (lambda ps: optim.Adam(ps, eps=-1e-8), "Invalid epsilon value"),
    (lambda ps: optim.AdamW(ps, lr="fast"), "Invalid learning rate: 'fast'"),
    (lambda ps: optim.RMSprop(ps, alpha=-0.1), "Invalid alpha value"),
    (lambda ps: optim.RMSprop(ps, momentum=-0.1), "Invalid momentum value"),
    (lambda ps: optim.Adagrad(ps, lr_decay=-0.1), "Invalid lr_decay value"),
    (lambda ps: optim.Adagrad(ps, initial_accumulator_value=-1),
     "Invalid initial_accumulator_value value"),
], ids=lambda x: x if isinstance(x, str) else "")
def test_invalid_hyperparameters_are_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make([param([1.0])])


def test_params_must_be_leaf_tensors_requiring_grad_each_listed_once():
    w = param([1.0, 2.0])
    cases = [
        ([], ValueError, "empty parameter list"),
        (w, TypeError, "single Tensor"),
        ({w}, TypeError, "not a set"),
        ([w, np.zeros(2)], TypeError, "parameter 1 of group 0 is a ndarray, not a Tensor"),
        ([("w", w)], TypeError, "not named_parameters"),
        ([ag.tensor([1.0])], ValueError, "does not require grad"),
        ([w * 2], ValueError, "not a leaf"),
        ([w, w], ValueError, "parameter 1 of group 0 .* appears more than once"),
        ([{"params": [w]}, {"params": [w]}], ValueError, "group 1 .* more than once"),
        ([{"params": [w], "betas": (0.9, 0.9)}], ValueError, r"unknown option\(s\) \['betas'\]"),
        ([{"lr": 0.1}], ValueError, "no 'params' entry"),
        ([w, {"params": [param([1.0])]}], TypeError, "mixes Tensors and dicts"),
    ]
    for params, error, match in cases:
        with pytest.raises(error, match=match):
            optim.SGD(params, lr=0.1)


def test_errors_name_the_optimizers_own_class():
    """A subclass's errors name the subclass, not the optimizer it extends."""
    class MySGD(optim.SGD):
        pass

    class MyRMSprop(optim.RMSprop):
        pass

    class MyAdagrad(optim.Adagrad):
        pass

    w = param([1.0])
    cases = [
        (lambda: MySGD([w], lr=-0.1), ValueError, "MySGD: Invalid learning rate"),
        (lambda: MySGD([w], nesterov=True), ValueError, "MySGD: Nesterov momentum requires"),
        (lambda: MySGD([w], maximize=1), TypeError, "MySGD: maximize must be True or False"),
        (lambda: MySGD([{"lr": 0.1}]), ValueError, "MySGD: parameter group 0 has no 'params'"),
        (lambda: MyRMSprop([w], alpha=-0.1), ValueError, "MyRMSprop: Invalid alpha value"),
        (lambda: MyRMSprop([w], centered="yes"), TypeError, "MyRMSprop: centered must be"),
        (lambda: MyAdagrad([w], lr_decay=-1), ValueError, "MyAdagrad: Invalid lr_decay value"),
        (lambda: MyAdagrad([w]).load_state_dict({}), ValueError, "MyAdagrad.load_state_dict:"),
        (lambda: optim.AdamW([w], betas=0.9), ValueError, "AdamW: betas must be a pair"),
    ]
    for make, error, match in cases:
        with pytest.raises(error, match=f"^{match}"):
            make()


# ---------------------------------------------------------------------------------------------
# state_dict


def assert_plain(obj):
    """Only what the checkpoint format stores: dicts with str/int keys, lists, numpy arrays and
    Python scalars."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            assert isinstance(key, (str, int)) and not isinstance(key, bool), key
            assert_plain(value)
    elif isinstance(obj, list):
        for value in obj:
            assert_plain(value)
    else:
        assert isinstance(obj, (np.ndarray, bool, int, float, str)), type(obj)
        assert not isinstance(obj, np.generic), type(obj)


def assert_same(a, b):
    """Two state_dicts hold the same structure and values."""
    if isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            assert_same(a[key], b[key])
    elif isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b)
    else:
        assert a == b and type(a) is type(b)


def test_state_dict_has_pytorchs_layout():
    a, b = param([1.0, 2.0]), param([3.0])
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.01}], lr=0.1, momentum=0.9)
    a.grad = ag.tensor(np.array([0.5, -0.5]))
    opt.step()                                   # b has no grad, so no state
    sd = opt.state_dict()
    options = dict(momentum=0.9, dampening=0, weight_decay=0, nesterov=False, maximize=False)
    assert sd["param_groups"] == [{"lr": 0.1, **options, "params": [0]},
                                  {"lr": 0.01, **options, "params": [1]}]
    assert list(sd["state"]) == [0] and list(sd["state"][0]) == ["momentum_buffer"]
    np.testing.assert_array_equal(sd["state"][0]["momentum_buffer"], [0.5, -0.5])

    opt = optim.Adam([a], lr=0.1)
    opt.step()
    sd = opt.state_dict()
    assert sd["state"][0]["step"] == 1 and type(sd["state"][0]["step"]) is int
    assert sd["param_groups"][0]["betas"] == [0.9, 0.999]   # lists: the checkpoint has no tuples
    assert_plain(sd)


SHAPES = [(2,), (3, 2), ()]


def groups_of(params):
    return [{"params": params[:1]}, {"params": params[1:], "lr": 0.05}]


def train_steps(opt, params, grads):
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = ag.tensor(g)
        opt.step()


@pytest.mark.parametrize("make", ALL_OPTIONS, ids=NAMES)
def test_state_dict_round_trip_continues_exactly(make):
    rng = np.random.default_rng(0)
    grads = [[rng.standard_normal(s) for s in SHAPES] for _ in range(6)]
    params = [ag.tensor(rng.standard_normal(s), requires_grad=True) for s in SHAPES]
    opt = make(groups_of(params))
    train_steps(opt, params, grads[:3])
    sd = opt.state_dict()
    assert_plain(sd)
    snapshot = copy.deepcopy(sd)

    # a fresh optimizer over fresh copies of the parameters, with a different lr until loaded
    params2 = [ag.tensor(p.data.copy(), requires_grad=True) for p in params]
    opt2 = make(groups_of(params2))
    opt2.param_groups[1]["lr"] = 123.0
    opt2.load_state_dict(sd)
    assert_same(opt2.state_dict(), sd)

    train_steps(opt, params, grads[3:])
    train_steps(opt2, params2, grads[3:])
    for p, p2 in zip(params, params2):
        np.testing.assert_array_equal(p.data, p2.data)
    assert_same(opt2.state_dict(), opt.state_dict())
    assert_same(sd, snapshot)  # the state_dict held copies: training on did not change it


def test_load_state_dict_accepts_string_indices_from_text_formats():
    a = param([1.0, 2.0])
    opt = optim.Adagrad([a], lr=0.1)
    a.grad = ag.tensor(np.array([1.0, 2.0]))
    opt.step()
    sd = opt.state_dict()
    sd["state"] = {str(k): v for k, v in sd["state"].items()}
    opt2 = optim.Adagrad([param([1.0, 2.0])], lr=0.1)
    opt2.load_state_dict(sd)
    assert_same(opt2.state_dict(), opt.state_dict())


def test_load_state_dict_refuses_mismatches_and_changes_nothing():
    def adam(*shapes_per_group):
        groups = [{"params": [param(np.zeros(s)) for s in shapes]} for shapes in shapes_per_group]
        opt = optim.Adam(groups, lr=0.1)
        for group in opt.param_groups:
            for p in group["params"]:
                p.grad = ag.tensor(np.ones(p.shape))
        opt.step()
        return opt

    source = adam([(2,)], [(3,), (1,)]).state_dict()
    target = adam([(2,)], [(2,), (1,)])
    before = target.state_dict()
    with pytest.raises(ValueError, match="has 2 parameter group.* this optimizer has 1"):
        adam([(2,)]).load_state_dict(source)
    with pytest.raises(ValueError, match="group 1 has 2 parameter.* but 1 in this optimizer"):
        adam([(2,)], [(3,)]).load_state_dict(source)
    with pytest.raises(ValueError, match=r"'exp_avg' of parameter 1 has shape \(3,\), but the "
                                         r"parameter has shape \(2,\)"):
        target.load_state_dict(source)
    sgd = optim.SGD([{"params": [param([0.0, 0.0])]}, {"params": [param([0.0, 0.0]),
                                                                  param([0.0])]}], lr=0.1)
    with pytest.raises(ValueError, match="another optimizer than SGD"):
        sgd.load_state_dict(source)
    broken = copy.deepcopy(before)
    del broken["state"][2]["exp_avg_sq"]
    with pytest.raises(ValueError, match=r"parameter 2 lacks \['exp_avg_sq'\]"):
        target.load_state_dict(broken)
    broken = copy.deepcopy(before)
    broken["state"][7] = broken["state"].pop(2)
    with pytest.raises(ValueError, match="state for parameter 7, which none of its"):
        target.load_state_dict(broken)
    with pytest.raises(ValueError, match="keys 'state' and 'param_groups'"):
        target.load_state_dict({"state": {}})
    assert_same(target.state_dict(), before)


@pytest.mark.parametrize("cls, options", [(cls, options) for cls, _, options in CASES],
                         ids=[_case_id(c) for c in CASES])
def test_load_state_dict_requires_exactly_the_state_a_step_keeps(cls, options):
    """The declared state matches what a step writes: what it keeps loads, and each entry of it
    is required."""
    p = param(THETA0)
    opt = cls([p], **options)
    p.grad = ag.tensor(GRADS[0])
    opt.step()
    sd = opt.state_dict()
    cls([param(THETA0)], **options).load_state_dict(sd)
    for key in sd["state"].get(0, {}):
        broken = copy.deepcopy(sd)
        del broken["state"][0][key]
        with pytest.raises(ValueError, match=rf"parameter 0 lacks \['{key}'\]"):
            cls([param(THETA0)], **options).load_state_dict(broken)


# ---------------------------------------------------------------------------------------------
# Done when: linear and logistic regression, trained full-batch with every optimizer, reach the
# optimum computed in closed form (least squares) or by Newton's method, to 1e-6.
# The models use only core ops, so these tests do not depend on nn.

TOL = 1e-6


def cosine(steps):
    return lambda opt: optim.CosineAnnealingLR(opt, T_max=steps)


def train(make_optimizer, loss_fn, n_features, steps, make_scheduler=None):
    """Full-batch training of (w, b) from zero with the public API only."""
    w = ag.tensor(np.zeros(n_features), requires_grad=True)
    b = ag.tensor(np.zeros(()), requires_grad=True)
    opt = make_optimizer([w, b])
    scheduler = make_scheduler(opt) if make_scheduler else None
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(w, b).backward()
        opt.step()
        if scheduler:
            scheduler.step()
    return np.append(w.data, b.data)


# Adam-family and RMSprop steps have a size of about lr however small the gradient, so they
# hover around the optimum unless lr decays (cosine); AdamW's decoupled decay moves the fixed
# point by ~eps once v tracks g^2, so betas[1] = 0.9 rather than 0.999, whose long memory of
# the first large gradients would keep a weight-decay bias for thousands of steps.
LINEAR_RUNS = {
    "SGD": (lambda ps: optim.SGD(ps, lr=0.1), 300, None),
    "SGD-nesterov": (lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True), 300, None),
    "Adam": (lambda ps: optim.Adam(ps, lr=0.05), 1000, None),
    "AdamW": (lambda ps: optim.AdamW(ps, lr=0.1, betas=(0.9, 0.9)), 1500, cosine(1500)),
    "RMSprop": (lambda ps: optim.RMSprop(ps, lr=0.05), 500, cosine(500)),
    "Adagrad": (lambda ps: optim.Adagrad(ps, lr=0.5), 500, None),
}


@pytest.mark.parametrize("name", list(LINEAR_RUNS))
def test_linear_regression_reaches_the_least_squares_optimum(name):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 3))
    y = X @ np.array([1.5, -2.0, 0.5]) + 0.3 + 0.1 * rng.standard_normal(200)
    optimum = np.linalg.lstsq(np.hstack([X, np.ones((200, 1))]), y, rcond=None)[0]
    Xt, yt = ag.tensor(X), ag.tensor(y)

    def mse(w, b):
        return ((Xt @ w + b - yt) ** 2).mean()

    make, steps, scheduler = LINEAR_RUNS[name]
    theta = train(make, mse, 3, steps, scheduler)
    np.testing.assert_allclose(theta, optimum, rtol=0, atol=TOL)


LOGISTIC_RUNS = {
    "SGD": (lambda ps: optim.SGD(ps, lr=2.0), 500, None),
    "SGD-momentum": (lambda ps: optim.SGD(ps, lr=0.5, momentum=0.9), 500, None),
    "Adam": (lambda ps: optim.Adam(ps, lr=0.05), 1000, None),
    "AdamW": (lambda ps: optim.AdamW(ps, lr=0.1, betas=(0.9, 0.9)), 1500, cosine(1500)),
    "RMSprop": (lambda ps: optim.RMSprop(ps, lr=0.05), 1000, cosine(1000)),
    "Adagrad": (lambda ps: optim.Adagrad(ps, lr=0.5), 1000, None),
}


def newton_optimum(X, y, lam):
    """argmin of mean log-loss + lam/2 |w|^2 over (w, b), by Newton's method."""
    A = np.hstack([X, np.ones((len(X), 1))])
    reg = lam * np.r_[np.ones(X.shape[1]), 0.0]        # the bias is not penalised
    theta = np.zeros(A.shape[1])
    for _ in range(50):
        s = 1 / (1 + np.exp(-A @ theta))
        grad = A.T @ (s - y) / len(y) + reg * theta
        hessian = (A.T * (s * (1 - s))) @ A / len(y) + np.diag(reg)
        step = np.linalg.solve(hessian, grad)
        theta = theta - step
        if np.abs(step).max() < 1e-14:
            break
    return theta


@pytest.mark.parametrize("name", list(LOGISTIC_RUNS))
def test_logistic_regression_reaches_the_newton_optimum(name):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((200, 3))
    # labels drawn from the logistic model itself: noisy, so the classes overlap and the
    # optimum is finite; the small L2 term makes it unique
    p_true = 1 / (1 + np.exp(-(X @ np.array([2.0, -1.0, 0.5]) + 0.5)))
    y = (rng.random(200) < p_true).astype(np.float64)
    lam = 1e-2
    optimum = newton_optimum(X, y, lam)
    Xt, yt = ag.tensor(X), ag.tensor(y)

    def log_loss(w, b):
        z = Xt @ w + b
        log1p_exp = ag.stack([ag.zeros_like(z), z], axis=1).logsumexp(axis=1)  # log(1 + e^z)
        return (log1p_exp - yt * z).mean() + lam / 2 * (w * w).sum()

    make, steps, scheduler = LOGISTIC_RUNS[name]
    theta = train(make, log_loss, 3, steps, scheduler)
    np.testing.assert_allclose(theta, optimum, rtol=0, atol=TOL)
