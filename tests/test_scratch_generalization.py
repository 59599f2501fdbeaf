"""Tests of course_utils.scratch.generalization (notebook 07: generalization)."""
import math

import numpy as np
import pytest

from course_utils.scratch import generalization as G


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_nested_subsets_are_nested_stratified_and_seeded(seed):
    rng = np.random.default_rng(seed)
    y = rng.choice(5, size=400, p=[0.4, 0.3, 0.15, 0.1, 0.05])
    sizes = [7, 30, 31, 150, 400]
    subsets = G.nested_subsets(y, sizes, seed=seed)
    share = np.bincount(y) / len(y)
    prev = set()
    for size, sub in zip(sizes, subsets):
        assert len(sub) == len(set(sub.tolist())) == size
        assert prev <= set(sub.tolist())
        assert np.abs(np.bincount(y[sub], minlength=5) - size * share).max() < 1.5
        prev = set(sub.tolist())
    again = G.nested_subsets(y, sizes, seed=seed)
    assert all(np.array_equal(a, b) for a, b in zip(subsets, again))
    other = G.nested_subsets(y, sizes, seed=seed + 10)
    assert not np.array_equal(subsets[1], other[1])


def test_nested_subsets_stay_within_one_and_a_half_on_many_label_mixes():
    worst = 0.0
    for t in range(60):
        rng = np.random.default_rng(t)
        k = int(rng.integers(2, 12))
        y = np.r_[rng.choice(k, size=int(rng.integers(20, 500)), p=rng.dirichlet(np.ones(k))), np.arange(k)]
        share = np.bincount(y) / len(y)
        sub = G.nested_subsets(y, list(range(1, len(y) + 1)), seed=t)
        for size, s in zip(range(1, len(y) + 1), sub):
            worst = max(worst, np.abs(np.bincount(y[s], minlength=k) - size * share).max())
    assert worst < 1.5


def test_nested_subsets_input_errors():
    with pytest.raises(ValueError, match="increase"):
        G.nested_subsets([0, 1, 0, 1], [3, 2])
    with pytest.raises(ValueError, match="lie in"):
        G.nested_subsets([0, 1, 0, 1], [5])
    with pytest.raises(TypeError, match="integer class labels"):
        G.nested_subsets([0.5, 1.0], [1])
    with pytest.raises(TypeError, match="list of ints"):
        G.nested_subsets([0, 1], [1.5])


def test_curve_summary_numbers():
    s = G.curve_summary([1.0, 0.5, 0.2, 0.1], [1.1, 0.6, 0.5, 0.6])
    assert s["best_epoch"] == 3 and s["best_val"] == 0.5 and s["train_at_best"] == 0.2
    assert s["gap_at_best"] == pytest.approx(0.3) and s["gap_end"] == pytest.approx(0.5)
    assert s["rise"] == pytest.approx(0.2)
    tie = G.curve_summary([1, 1, 1], [0.5, 0.4, 0.4])
    assert tie["best_epoch"] == 2 and tie["rise"] == 0.0
    with pytest.raises(ValueError, match="equal length"):
        G.curve_summary([1, 2], [1])


@pytest.mark.parametrize("train,val,expected", [
    ([2.0, 1.8, 1.7], [2.1, 1.9, 1.8], "underfit"),
    ([1.0, 0.1, 0.01, 0.001], [1.0, 0.4, 0.5, 0.6], "overfit"),
    ([1.0, 0.1, 0.05], [1.0, 0.4, 0.43], "good fit"),
    ([0.9, 0.47, 0.2], [0.6, 0.5, 0.9], "underfit"),     # judged at the optimum, not at the end
])
def test_fit_regime(train, val, expected):
    assert G.fit_regime(train, val, math.log(10)) == expected


def test_fit_regime_errors():
    with pytest.raises(ValueError, match="chance_loss"):
        G.fit_regime([1.0], [1.0], 0)
    with pytest.raises(ValueError, match="under"):
        G.fit_regime([1.0], [1.0], 2.3, under=1.5)


def test_validation_optimum_ignores_test_and_breaks_ties():
    sweep = {(1, 16): {"loss": [0.5, 0.2], "val_loss": [0.6, 0.5], "test_loss": [0.1, 0.0]},
             (2, 16): {"loss": [0.5, 0.1], "val_loss": [0.45, 0.7], "test_loss": [0.9, 0.9]}}
    assert G.validation_optimum(sweep) == ((2, 16), 1, 0.45)
    ties = {(3, 4): {"val_loss": [0.5, 0.3]}, (1, 4): {"val_loss": [0.9, 0.2, 0.2]}, (2, 4): {"val_loss": [0.2]}}
    assert G.validation_optimum(ties)[:2] == ((2, 4), 1)
    with pytest.raises(ValueError, match="non-empty dict"):
        G.validation_optimum({})
    with pytest.raises(ValueError, match="val_loss"):
        G.validation_optimum({"a": {"loss": [1.0]}})


def test_mlp_param_count():
    assert G.mlp_param_count(64, (32,), 10) == 65 * 32 + 33 * 10
    assert G.mlp_param_count(784, (256, 128), 10) == 235_146


def test_softmax_ce_from_logits_is_stable():
    Z = np.array([[1000.0, 0.0], [0.0, 0.0]])
    assert G.softmax_ce_from_logits(Z, [0, 1]) == pytest.approx(0.5 * math.log(2))


def test_mlp_curves_numpy_gradient_step_lowers_loss_and_matches_finite_differences():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 5))
    y = rng.integers(0, 3, size=40)
    w = [rng.normal(0, 0.5, (5, 4)), np.zeros(4), rng.normal(0, 0.5, (4, 3)), np.zeros(3)]
    perms = np.stack([rng.permutation(40) for _ in range(30)])
    out = G.mlp_curves_numpy(w, X, y, X, y, perms, batch_size=8, lr=1e-2)
    assert out["loss"].shape == (30,) and out["loss"][-1] < out["loss"][0]
    np.testing.assert_allclose(out["loss"], out["val_loss"])          # same data: same numbers
    assert np.array_equal(w[0], w[0]) and w[1].sum() == 0               # the input list is not modified
    with pytest.raises(ValueError, match="perms"):
        G.mlp_curves_numpy(w, X, y, X, y, perms[:, :10], batch_size=8)
    with pytest.raises(ValueError, match="batch_size"):
        G.mlp_curves_numpy(w, X, y, X, y, perms, batch_size=0)


def test_mlp_curves_numpy_first_step_is_the_backprop_gradient():
    """One full-batch Adam step moves each weight by lr * sign(gradient) (Adam's first step),
    and the gradient's sign agrees with a finite difference of the loss."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(12, 3))
    y = rng.integers(0, 2, size=12)
    w = [rng.normal(0, 0.7, (3, 4)), rng.normal(0, 0.1, 4), rng.normal(0, 0.7, (4, 2)), np.zeros(2)]
    lr = 1e-4
    out = G.mlp_curves_numpy(w, X, y, X, y, np.arange(12)[None], batch_size=12, lr=lr)

    def loss(ws):
        return G.softmax_ce_from_logits(G._forward(ws, X)[-1], y)

    for k in range(len(w)):
        step = (out["weights"][k] - w[k]).ravel()
        for i in range(step.size):
            wp = [a.copy() for a in w]
            wm = [a.copy() for a in w]
            wp[k].flat[i] += 1e-6
            wm[k].flat[i] -= 1e-6
            g = (loss(wp) - loss(wm)) / 2e-6
            if abs(g) > 1e-6:
                assert np.sign(step[i]) == -np.sign(g)
                assert abs(step[i]) == pytest.approx(lr, rel=1e-2)
