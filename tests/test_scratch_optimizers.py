"""cu.scratch optimizers (notebook 05): formulas by hand, and equality with keras.optimizers."""
import math

import numpy as np
import pytest

import course_utils as cu
from course_utils.scratch import optimizers as so

S = cu.scratch


# --------------------------------------------------------------------------- EMA

def test_ema_of_a_constant_with_and_without_bias_correction():
    x = np.full(30, 5.0)
    beta = 0.9
    t = np.arange(1, 31)
    np.testing.assert_allclose(S.ema(x, beta), 5.0 * (1 - beta ** t), rtol=1e-12)
    np.testing.assert_allclose(S.ema(x, beta, bias_correction=True), x, rtol=1e-12)


def test_ema_recursion_and_time_axis():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 3))
    out = S.ema(x, 0.8)
    v = np.zeros(3)
    for k in range(12):
        v = 0.8 * v + 0.2 * x[k]
        np.testing.assert_allclose(out[k], v, rtol=1e-12)
    np.testing.assert_allclose(S.ema(x, 0.0), x)  # beta 0: no smoothing


@pytest.mark.parametrize("beta", [1.0, -0.1, 2])
def test_ema_rejects_bad_beta(beta):
    with pytest.raises(ValueError, match="beta"):
        S.ema(np.ones(3), beta)


def test_ema_skip_nan_is_the_age_weighted_mean_of_observed_values():
    rng = np.random.default_rng(5)
    x = rng.normal(size=25)
    beta = 0.8
    # without gaps: the bias-corrected EMA (and the plain one), whatever skip_nan says
    np.testing.assert_allclose(S.ema(x, beta, bias_correction=True, skip_nan=True),
                               S.ema(x, beta, bias_correction=True), rtol=1e-12)
    np.testing.assert_allclose(S.ema(x, beta, skip_nan=True), S.ema(x, beta), rtol=1e-12)
    x[[0, 1, 7, 8, 9, 20]] = np.nan
    out = S.ema(x, beta, bias_correction=True, skip_nan=True)
    assert np.isnan(out[:2]).all() and out[2] == x[2]          # NaN until the first value, then that value
    for t in range(2, 25):                                       # by definition: weights beta**age
        k = np.arange(t + 1)
        seen = ~np.isnan(x[k])
        wts = beta ** (t - k[seen])
        np.testing.assert_allclose(out[t], np.sum(wts * x[k][seen]) / wts.sum(), rtol=1e-12)
    np.testing.assert_allclose(out[7:10], out[6])               # a gap holds the estimate
    # missing values with more than one series (time on axis 0)
    X = np.stack([x, np.where(np.isnan(x), 1.0, x)], axis=1)
    out2 = S.ema(X, beta, bias_correction=True, skip_nan=True)
    np.testing.assert_allclose(out2[:, 0], out, rtol=1e-12)
    np.testing.assert_allclose(out2[:, 1], S.ema(X[:, 1], beta, bias_correction=True), rtol=1e-12)


def test_ema_rejects_scalar_and_text():
    with pytest.raises(ValueError, match="series"):
        S.ema(3.0, 0.9)
    with pytest.raises(TypeError, match="beta"):
        S.ema(np.ones(3), "0.9")


# --------------------------------------------------------------------------- single steps by hand

def test_sgd_and_momentum_step_by_hand():
    w, g = np.array([1.0, -2.0]), np.array([0.5, 0.25])
    np.testing.assert_allclose(S.sgd_step(w, g, 0.1), [0.95, -2.025])
    u0 = np.array([0.2, -0.1])
    w1, u1 = S.momentum_step(w, g, u0, lr=0.1, momentum=0.9)
    np.testing.assert_allclose(u1, 0.9 * u0 - 0.1 * g)
    np.testing.assert_allclose(w1, w + u1)
    w2, v2 = S.momentum_step(w, g, u0, lr=0.1, momentum=0.9, form="ema")
    np.testing.assert_allclose(v2, 0.9 * u0 + 0.1 * g)
    np.testing.assert_allclose(w2, w - 0.1 * v2)


def test_ema_form_equals_keras_form_with_scaled_rate():
    rng = np.random.default_rng(1)
    grads = rng.normal(size=(40, 5))
    beta, lr = 0.9, 0.05
    wk = we = np.zeros(5)
    uk = ue = np.zeros(5)
    for g in grads:
        wk, uk = S.momentum_step(wk, g, uk, lr=lr, momentum=beta)
        we, ue = S.momentum_step(we, g, ue, lr=lr / (1 - beta), momentum=beta, form="ema")
    np.testing.assert_allclose(wk, we, atol=1e-12)
    # and with the same rate they differ (the forms are not interchangeable as is)
    we2, ue2 = np.zeros(5), np.zeros(5)
    for g in grads:
        we2, ue2 = S.momentum_step(we2, g, ue2, lr=lr, momentum=beta, form="ema")
    assert np.abs(we2 - wk).max() > 1e-2


def test_nesterov_step_is_the_lookahead_method_in_shifted_variables():
    """Sutskever's Nesterov (gradient at w + mu*u) equals the stored-look-ahead form Keras uses."""
    grad = lambda w: np.array([0.2, 8.0]) * w          # noqa: E731  (a stretched bowl)
    mu, lr = 0.9, 0.05
    w, u = np.array([2.0, -1.0]), np.zeros(2)
    wt, ut = w + mu * u, np.zeros(2)                    # the look-ahead point is what Keras stores
    for _ in range(30):
        u = mu * u - lr * grad(w + mu * u)              # textbook Nesterov
        w = w + u
        wt, ut = S.momentum_step(wt, grad(wt), ut, lr=lr, momentum=mu, nesterov=True)
        np.testing.assert_allclose(ut, u, atol=1e-12)
        np.testing.assert_allclose(wt, w + mu * u, atol=1e-12)
    with pytest.raises(ValueError, match="nesterov"):
        S.momentum_step(w, w, u, lr=0.1, form="ema", nesterov=True)
    with pytest.raises(ValueError, match="nesterov"):
        S.ScratchOptimizer("adam", nesterov=True)


def test_adam_weight_decay_is_decoupled():
    w, g = np.array([2.0, -1.0, 0.5]), np.array([0.3, -0.1, 0.0])
    m, v = np.zeros(3), np.zeros(3)
    plain = S.adam_step(w, g, m, v, 1, lr=0.01)[0]
    decayed = S.adam_step(w, g, m, v, 1, lr=0.01, weight_decay=0.1)[0]
    # shrink by lr * wd * w first, then the same Adam step (it does not depend on w)
    np.testing.assert_allclose(decayed, plain - 0.01 * 0.1 * w, atol=1e-15)
    # not L2 in the gradient: that would go through the division by sqrt(v)
    l2 = S.adam_step(w, g + 0.1 * w, m, v, 1, lr=0.01)[0]
    assert np.abs(l2 - decayed).max() > 1e-3
    with pytest.raises(ValueError, match="weight_decay"):
        S.adam_step(w, g, m, v, 1, weight_decay=-1.0)


def test_rmsprop_first_step_and_epsilon_placement():
    w, g = np.array([1.0, 1.0]), np.array([2.0, 1e-5])
    w1, s1 = S.rmsprop_step(w, g, np.zeros(2), lr=0.01, rho=0.9, epsilon=1e-7)
    np.testing.assert_allclose(s1, 0.1 * g ** 2)
    np.testing.assert_allclose(w1, w - 0.01 * g / np.sqrt(0.1 * g ** 2 + 1e-7))
    w2, _ = S.rmsprop_step(w, g, np.zeros(2), lr=0.01, rho=0.9, epsilon=1e-7, eps_inside=False)
    np.testing.assert_allclose(w2, w - 0.01 * g / (np.sqrt(0.1 * g ** 2) + 1e-7))
    # large gradient: same; tiny gradient: epsilon inside the root damps the step much more
    assert abs(w1[0] - w2[0]) < 1e-8
    assert abs(w1[1] - w[1]) < 0.5 * abs(w2[1] - w[1])


def test_adam_first_step_is_about_lr_times_sign():
    w = np.array([0.0, 0.0, 0.0])
    g = np.array([3.0, -0.2, 50.0])
    w1, m1, v1 = S.adam_step(w, g, np.zeros(3), np.zeros(3), t=1, lr=0.01, epsilon=1e-8)
    np.testing.assert_allclose(m1, 0.1 * g)
    np.testing.assert_allclose(v1, 0.001 * g ** 2)
    np.testing.assert_allclose(w1, -0.01 * np.sign(g), rtol=1e-5)


def test_adam_keras_and_paper_forms():
    rng = np.random.default_rng(2)
    w, m, v = rng.normal(size=4), rng.normal(size=4) * 0.1, rng.random(4) * 0.01
    g = rng.normal(size=4)
    t = 3
    wk, mk, vk = S.adam_step(w, g, m, v, t, lr=0.01, epsilon=1e-8)
    wp, mp, vp = S.adam_step(w, g, m, v, t, lr=0.01, epsilon=1e-8, form="paper")
    m_ref = 0.9 * m + 0.1 * g
    v_ref = 0.999 * v + 0.001 * g ** 2
    np.testing.assert_allclose(mk, m_ref)
    np.testing.assert_allclose(vp, v_ref)
    m_hat, v_hat = m_ref / (1 - 0.9 ** t), v_ref / (1 - 0.999 ** t)
    np.testing.assert_allclose(wp, w - 0.01 * m_hat / (np.sqrt(v_hat) + 1e-8))
    a_t = 0.01 * math.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
    np.testing.assert_allclose(wk, w - a_t * m_ref / (np.sqrt(v_ref) + 1e-8))
    # Keras' epsilon is the paper's epsilon / sqrt(1 - beta_2**t)
    wq, _, _ = S.adam_step(w, g, m, v, t, lr=0.01, epsilon=1e-8 / math.sqrt(1 - 0.999 ** t), form="paper")
    np.testing.assert_allclose(wk, wq, atol=1e-15)
    # tiny gradients: the two forms really differ
    tiny = np.full(4, 1e-7)
    a, _, _ = S.adam_step(np.zeros(4), tiny, np.zeros(4), np.zeros(4), 1, lr=0.01, epsilon=1e-8)
    b, _, _ = S.adam_step(np.zeros(4), tiny, np.zeros(4), np.zeros(4), 1, lr=0.01, epsilon=1e-8, form="paper")
    assert np.all(np.abs(a) < 0.5 * np.abs(b))


@pytest.mark.parametrize("call, match", [
    (lambda: S.sgd_step(np.ones(2), np.ones(3), 0.1), "g must have the shape"),
    (lambda: S.sgd_step(np.ones(2), np.ones(2), -0.1), "lr"),
    (lambda: S.momentum_step(np.ones(2), np.ones(2), np.ones(3), 0.1), "velocity"),
    (lambda: S.momentum_step(np.ones(2), np.ones(2), np.ones(2), 0.1, 1.0), "momentum"),
    (lambda: S.momentum_step(np.ones(2), np.ones(2), np.ones(2), 0.1, form="nesterov"), "form"),
    (lambda: S.rmsprop_step(np.ones(2), np.ones(2), np.ones(2), rho=1.5), "rho"),
    (lambda: S.rmsprop_step(np.ones(2), np.ones(2), np.ones(2), epsilon=-1), "epsilon"),
    (lambda: S.adam_step(np.ones(2), np.ones(2), np.zeros(2), np.zeros(2), t=0), "t must"),
    (lambda: S.adam_step(np.ones(2), np.ones(2), np.zeros(2), np.zeros(2), t=1.5), "t must"),
    (lambda: S.adam_step(np.ones(2), np.ones(2), np.zeros(2), np.zeros(1), t=1), "v must"),
    (lambda: S.adam_step(np.ones(2), np.ones(2), np.zeros(2), np.zeros(2), 1, form="x"), "form"),
    (lambda: S.ScratchOptimizer("nadam"), "name"),
    (lambda: S.cosine_decay(-1, 0.1, 10), "step"),
    (lambda: S.exponential_decay(1, 0.1, 0, 0.5), "decay_steps"),
    (lambda: S.cosine_decay(1, 0.1, 10, alpha=2.0), "alpha"),
])
def test_bad_inputs_raise_and_name_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --------------------------------------------------------------------------- schedules

def test_schedules_by_hand():
    assert S.step_decay(0, 0.1, 10, 0.5) == pytest.approx(0.1)
    assert S.step_decay(9, 0.1, 10, 0.5) == pytest.approx(0.1)
    assert S.step_decay(10, 0.1, 10, 0.5) == pytest.approx(0.05)
    assert S.step_decay(25, 0.1, 10, 0.5) == pytest.approx(0.025)
    assert S.exponential_decay(5, 0.1, 10, 0.25) == pytest.approx(0.05)
    assert S.cosine_decay(0, 0.1, 100) == pytest.approx(0.1)
    assert S.cosine_decay(50, 0.1, 100) == pytest.approx(0.05)
    assert S.cosine_decay(100, 0.1, 100, alpha=0.1) == pytest.approx(0.01)
    assert S.cosine_decay(500, 0.1, 100, alpha=0.1) == pytest.approx(0.01)  # stays at the floor
    # warm-up: linear from 0 to the target, then the cosine from the target
    assert S.cosine_decay(5, 0.0, 100, warmup_steps=10, warmup_target=0.2) == pytest.approx(0.1)
    assert S.cosine_decay(10, 0.0, 100, warmup_steps=10, warmup_target=0.2) == pytest.approx(0.2)
    assert S.cosine_decay(60, 0.0, 100, warmup_steps=10, warmup_target=0.2) == pytest.approx(0.1)
    arr = S.cosine_decay(np.arange(5), 0.1, 4)
    assert isinstance(arr, np.ndarray) and arr.shape == (5,)


def test_scratch_optimizer_evaluates_schedule_at_zero_based_iteration():
    seen = []

    def schedule(step):
        seen.append(step)
        return 0.1

    opt = S.ScratchOptimizer("sgd", schedule)
    w = np.ones(2)
    for _ in range(3):
        w = opt.step(w, np.ones(2))
    assert seen == [0, 1, 2]
    assert opt.iterations == 3
    np.testing.assert_allclose(w, 1 - 0.3)
    adam = S.ScratchOptimizer("adam")
    adam.step(np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match="new optimizer per parameter"):
        adam.step(np.ones(3), np.ones(3))


def test_optimize_path_shape_and_convergence_on_a_bowl():
    opt = S.ScratchOptimizer("adam", 0.1)
    path = S.optimize(opt, lambda w: 2 * w, np.array([3.0, -2.0]), 300)
    assert path.shape == (301, 2)
    assert np.abs(path[-1]).max() < 0.05
    with pytest.raises(TypeError, match="opt"):
        S.optimize("adam", lambda w: w, np.ones(2), 3)


# --------------------------------------------------------------------------- equal to Keras

keras = pytest.importorskip("keras")


def _keras_path(opt, w0, grads, dtype="float64"):
    v = keras.Variable(w0, dtype=dtype)
    out = []
    for g in grads:
        opt.apply([g.astype(dtype)], [v])
        out.append(np.array(v.numpy(), dtype=np.float64))
    return np.stack(out)


def _scratch_path(opt, w0, grads):
    w, out = w0.copy(), []
    for g in grads:
        w = opt.step(w, g)
        out.append(w)
    return np.stack(out)


K = keras.optimizers
SCHED = keras.optimizers.schedules
CASES = {
    "sgd": (lambda: K.SGD(0.05), lambda: S.ScratchOptimizer("sgd", 0.05)),
    "momentum": (lambda: K.SGD(0.05, momentum=0.9), lambda: S.ScratchOptimizer("momentum", 0.05, momentum=0.9)),
    "rmsprop": (lambda: K.RMSprop(0.01, rho=0.9, epsilon=1e-8),
                lambda: S.ScratchOptimizer("rmsprop", 0.01, rho=0.9, epsilon=1e-8)),
    "rmsprop_default": (lambda: K.RMSprop(), lambda: S.ScratchOptimizer("rmsprop", 0.001)),
    "adam": (lambda: K.Adam(0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8),
             lambda: S.ScratchOptimizer("adam", 0.001, epsilon=1e-8)),
    "adam_default": (lambda: K.Adam(), lambda: S.ScratchOptimizer("adam", 0.001)),
    "momentum_step_decay": (
        lambda: K.SGD(SCHED.ExponentialDecay(0.05, 4, 0.5, staircase=True), momentum=0.9),
        lambda: S.ScratchOptimizer("momentum", lambda s: S.step_decay(s, 0.05, 4, 0.5), momentum=0.9)),
    "adam_cosine_warmup": (
        lambda: K.Adam(SCHED.CosineDecay(0.0, 12, alpha=0.1, warmup_steps=4, warmup_target=0.002)),
        lambda: S.ScratchOptimizer("adam", lambda s: S.cosine_decay(s, 0.0, 12, 0.1, 4, 0.002))),
    "rmsprop_exponential": (
        lambda: K.RMSprop(SCHED.ExponentialDecay(0.01, 5, 0.7)),
        lambda: S.ScratchOptimizer("rmsprop", lambda s: S.exponential_decay(s, 0.01, 5, 0.7))),
    "nesterov": (lambda: K.SGD(0.05, momentum=0.9, nesterov=True),
                 lambda: S.ScratchOptimizer("momentum", 0.05, momentum=0.9, nesterov=True)),
    "adamw": (lambda: K.AdamW(0.01, weight_decay=0.1, epsilon=1e-8),
              lambda: S.ScratchOptimizer("adam", 0.01, epsilon=1e-8, weight_decay=0.1)),
    "adamw_default": (lambda: K.AdamW(), lambda: S.ScratchOptimizer("adam", 0.001, weight_decay=0.004)),
    "adam_weight_decay": (lambda: K.Adam(0.01, weight_decay=0.05),
                          lambda: S.ScratchOptimizer("adam", 0.01, weight_decay=0.05)),
    "adamw_cosine": (lambda: K.AdamW(SCHED.CosineDecay(0.02, 15, alpha=0.1), weight_decay=0.2),
                     lambda: S.ScratchOptimizer("adam", lambda s: S.cosine_decay(s, 0.02, 15, 0.1),
                                                weight_decay=0.2)),
    "sgd_weight_decay": (lambda: K.SGD(0.05, momentum=0.9, weight_decay=0.1),
                         lambda: S.ScratchOptimizer("momentum", 0.05, momentum=0.9, weight_decay=0.1)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_scratch_equals_keras_over_20_steps(case):
    rng = np.random.default_rng(3)
    w0 = rng.normal(size=(4, 3))
    grads = rng.normal(size=(20, 4, 3))
    make_k, make_s = CASES[case]
    kp = _keras_path(make_k(), w0, grads)
    sp = _scratch_path(make_s(), w0, grads)
    assert np.abs(sp[-1] - w0).max() > 1e-3  # the variables really moved
    np.testing.assert_allclose(sp, kp, atol=1e-6, rtol=0)


def test_wrong_formula_is_caught_by_the_keras_comparison():
    """The comparison can fail: the paper's Adam and the outside-epsilon RMSprop differ from Keras."""
    rng = np.random.default_rng(4)
    w0 = np.zeros(3)
    grads = rng.normal(size=(5, 3)) * 1e-4
    kp = _keras_path(K.RMSprop(0.01, epsilon=1e-7), w0, grads)
    w, s, out = w0.copy(), np.zeros(3), []
    for g in grads:
        w, s = S.rmsprop_step(w, g, s, lr=0.01, epsilon=1e-7, eps_inside=False)
        out.append(w)
    assert np.abs(np.stack(out) - kp).max() > 1e-4
    kp = _keras_path(K.Adam(0.01, epsilon=1e-7), w0, grads * 1e-3)
    w, m, v, out = w0.copy(), np.zeros(3), np.zeros(3), []
    for t, g in enumerate(grads * 1e-3, 1):
        w, m, v = S.adam_step(w, g, m, v, t, lr=0.01, epsilon=1e-7, form="paper")
        out.append(w)
    assert np.abs(np.stack(out) - kp).max() > 1e-4
    # and L2 in Adam's gradient is not AdamW
    w0 = rng.normal(size=3)
    kp = _keras_path(K.AdamW(0.01, weight_decay=0.5), w0, grads)
    w, m, v, out = w0.copy(), np.zeros(3), np.zeros(3), []
    for t, g in enumerate(grads, 1):
        w, m, v = S.adam_step(w, g + 0.5 * w, m, v, t, lr=0.01)
        out.append(w)
    assert np.abs(np.stack(out) - kp).max() > 1e-4


@pytest.mark.parametrize("keras_sched, mine", [
    (lambda: SCHED.ExponentialDecay(0.1, 10, 0.9), lambda s: S.exponential_decay(s, 0.1, 10, 0.9)),
    (lambda: SCHED.ExponentialDecay(0.1, 7, 0.5, staircase=True), lambda s: S.step_decay(s, 0.1, 7, 0.5)),
    (lambda: SCHED.CosineDecay(0.1, 50, alpha=0.05), lambda s: S.cosine_decay(s, 0.1, 50, 0.05)),
    (lambda: SCHED.CosineDecay(0.01, 40, warmup_steps=10, warmup_target=0.1),
     lambda s: S.cosine_decay(s, 0.01, 40, 0.0, 10, 0.1)),
])
def test_schedules_equal_keras(keras_sched, mine):
    sched = keras_sched()
    steps = np.arange(0, 80)
    theirs = np.array([float(sched(int(s))) for s in steps])
    np.testing.assert_allclose(mine(steps), theirs, atol=1e-7, rtol=1e-6)
