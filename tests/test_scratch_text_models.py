"""cu.scratch.text_models (notebook 18): cleaning and tokens as TextVectorization makes them, bag of words and
TF-IDF against scikit-learn, logistic regression by gradient descent against scikit-learn, confidence intervals,
McNemar's test against statsmodels, flagging thresholds, leave-one-word-out."""
import itertools
import math

import numpy as np
import pytest
from scipy.sparse import csr_matrix

import course_utils.scratch as S
from course_utils.scratch import text_models as tm

DOCS = [["good", "tea", "tea"], ["bad", "tea"], ["good", "good", "coffee"], ["awful"], []]


def test_public_names_are_reexported():
    assert tm.__all__
    for name in tm.__all__:
        assert getattr(S, name) is getattr(tm, name)


def test_clean_review_removes_tags_decodes_entities_lowercases():
    assert S.clean_review("Great<br />TEA &quot;yes&quot;") == 'great tea "yes"'
    assert S.clean_review("&lt;3 it") == "<3 it"                     # decoded after the tags went
    out = S.clean_review(["A<p>B", "C"])
    assert out.dtype == object and list(out) == ["a b", "c"]
    with pytest.raises(TypeError, match="text"):
        S.clean_review([1, 2])


def test_review_tokens_strip_keras_punctuation_and_split():
    assert S.review_tokens("Don't buy it!!  Really... <br />bad") == ["dont", "buy", "it", "really", "bad"]
    assert S.review_tokens("e-mail salsa/hot", clean=False) == ["email", "salsahot"]
    assert S.review_tokens("café ÉTÉ") == ["café", "été"]                # non-ASCII letters stay
    with pytest.raises(TypeError):
        S.review_tokens(["a list"])


def test_review_vocabulary_orders_like_keras():
    vocab = S.review_vocabulary([["b", "a", "c", "a"], ["c", "d"]])
    # counts a=2, c=2, b=1, d=1; ties in decreasing byte order (Keras: lexsort reversed)
    assert vocab == ["", "[UNK]", "c", "a", "d", "b"]
    assert S.review_vocabulary([["b", "a", "c", "a"], ["c", "d"]], max_tokens=4) == ["", "[UNK]", "c", "a"]
    assert S.review_vocabulary([["b", "a", "a"]], min_count=2, specials=False) == ["a"]
    with pytest.raises(ValueError, match="max_tokens"):
        S.review_vocabulary([["a"]], max_tokens=1)
    with pytest.raises(TypeError, match="token lists"):
        S.review_vocabulary("just a string")


def test_review_ids_pad_after_and_truncate_the_end():
    vocab = ["", "[UNK]", "tea", "good"]
    ids = S.review_ids([["good", "tea", "zzz"], ["tea"]], vocab, length=2)
    np.testing.assert_array_equal(ids, [[3, 2], [2, 0]])
    np.testing.assert_array_equal(S.review_ids([["good", "zzz"], []], vocab), [[3, 1], [0, 0]])
    with pytest.raises(ValueError, match="padding entry"):
        S.review_ids([["a"]], ["a", "b"])
    with pytest.raises(ValueError, match="length"):
        S.review_ids([["a"]], vocab, length=-1)


def test_bow_counts_dense_sparse_binary():
    vocab = ["", "[UNK]", "bad", "coffee", "good", "tea"]
    dense = S.bow_counts(DOCS, vocab)
    assert dense.shape == (5, 6)
    np.testing.assert_array_equal(dense[0], [0, 0, 0, 0, 1, 2])
    np.testing.assert_array_equal(dense[:, :2], 0)                     # specials never counted
    np.testing.assert_array_equal(S.bow_counts(DOCS, vocab, sparse=True).toarray(), dense)
    np.testing.assert_array_equal(S.bow_counts(DOCS, vocab, binary=True)[0], [0, 0, 0, 0, 1, 1])


@pytest.mark.parametrize("sublinear, smooth", list(itertools.product([False, True], [False, True])))
@pytest.mark.parametrize("sparse", [False, True])
def test_tfidf_equals_sklearn(sublinear, smooth, sparse):
    from sklearn.feature_extraction.text import TfidfVectorizer
    vocab = ["bad", "coffee", "good", "tea", "awful"]
    train = DOCS[:4]
    counts = S.bow_counts(train, vocab, sparse=sparse)
    got, idf = S.tfidf_from_counts(counts, sublinear_tf=sublinear, smooth_idf=smooth)
    sk = TfidfVectorizer(analyzer=lambda d: d, vocabulary=vocab, sublinear_tf=sublinear, smooth_idf=smooth).fit(train)
    np.testing.assert_allclose(idf, sk.idf_, rtol=1e-12)
    got = got.toarray() if sparse else got
    np.testing.assert_allclose(got, sk.transform(train).toarray(), atol=1e-12)
    new = S.bow_counts(DOCS[3:], vocab, sparse=sparse)                # reuse the training idf; an empty review
    got_new, _ = S.tfidf_from_counts(new, idf=idf, sublinear_tf=sublinear)
    got_new = got_new.toarray() if sparse else got_new
    np.testing.assert_allclose(got_new, sk.transform(DOCS[3:]).toarray(), atol=1e-12)
    assert np.all(np.isfinite(got_new))


def test_tfidf_rejects_bad_input():
    with pytest.raises(ValueError, match=">= 0"):
        S.tfidf_from_counts(np.array([[1.0, -1.0]]))
    with pytest.raises(ValueError, match="norm"):
        S.tfidf_from_counts(np.ones((2, 2)), norm="l1")
    with pytest.raises(ValueError, match="idf"):
        S.tfidf_from_counts(np.ones((2, 2)), idf=np.ones(3))


def _toy(n=120, d=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = (X @ rng.normal(size=d) + 0.5 * rng.normal(size=n) > 0).astype(int)
    return X, y


def test_logistic_gradient_matches_finite_differences():
    X, y = _toy()
    rng = np.random.default_rng(1)
    w, b, l2 = rng.normal(size=X.shape[1]), 0.3, 0.05
    loss, gw, gb = S.logistic_loss_grad(X, y, w, b, l2)
    eps = 1e-6
    num = [(S.logistic_loss_grad(X, y, w + eps * e, b, l2)[0] - S.logistic_loss_grad(X, y, w - eps * e, b, l2)[0])
           / (2 * eps) for e in np.eye(len(w))]
    np.testing.assert_allclose(gw, num, atol=1e-7)
    num_b = (S.logistic_loss_grad(X, y, w, b + eps, l2)[0] - S.logistic_loss_grad(X, y, w, b - eps, l2)[0]) / (2 * eps)
    assert abs(gb - num_b) < 1e-7
    # sparse input gives the same numbers
    loss_s, gw_s, _ = S.logistic_loss_grad(csr_matrix(X), y, w, b, l2)
    assert abs(loss - loss_s) < 1e-12 and np.allclose(gw, gw_s)
    # the log loss stays finite for huge scores
    assert np.isfinite(S.logistic_loss_grad(X * 1e4, y, w, b)[0])


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_logistic_fit_reaches_sklearn_optimum(momentum):
    from sklearn.linear_model import LogisticRegression
    X, y = _toy()
    C = 1.0
    fit = S.logistic_regression_fit(X, y, l2=1 / (C * len(y)), lr=0.5, steps=3000 if momentum == 0 else 600,
                                    momentum=momentum)
    sk = LogisticRegression(C=C, tol=1e-12, max_iter=10000).fit(X, y)
    np.testing.assert_allclose(fit.w, sk.coef_[0], atol=1e-5)
    assert abs(fit.b - sk.intercept_[0]) < 1e-5
    np.testing.assert_allclose(fit.predict_proba(X), sk.predict_proba(X)[:, 1], atol=1e-6)
    assert len(fit.losses) == (3000 if momentum == 0 else 600) + 1
    assert fit.losses[-1] <= fit.losses[0]


def test_plain_gradient_descent_is_one_update_per_step():
    X, y = _toy(n=10)
    fit = S.logistic_regression_fit(X, y, lr=0.1, steps=1)
    _, gw, gb = S.logistic_loss_grad(X, y, np.zeros(X.shape[1]), 0.0)
    np.testing.assert_allclose(fit.w, -0.1 * gw)
    assert abs(fit.b + 0.1 * gb) < 1e-15


def test_logistic_fit_rejects_bad_input():
    X, y = _toy(n=10)
    with pytest.raises(ValueError, match="0/1"):
        S.logistic_regression_fit(X, y + 1)
    with pytest.raises(ValueError, match="labels"):
        S.logistic_regression_fit(X, y[:5])
    with pytest.raises(ValueError, match="momentum"):
        S.logistic_regression_fit(X, y, momentum=1.0)
    with pytest.raises(ValueError, match="lr"):
        S.logistic_regression_fit(X, y, lr=-1)


def test_lr_top_words():
    pos, neg = S.lr_top_words([0.5, -2.0, 3.0, 0.0], ["a", "b", "c", "d"], k=2)
    assert pos == [("c", 3.0), ("a", 0.5)] and neg == [("b", -2.0), ("d", 0.0)]
    with pytest.raises(ValueError, match="vocabulary"):
        S.lr_top_words([1.0], ["a", "b"])


def test_proportion_ci_against_scipy():
    from scipy import stats
    for k, n in [(0, 10), (8, 10), (10, 10), (792, 1000), (37, 50)]:
        ref = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        lo, hi = S.proportion_ci(k, n, method="wilson")
        assert abs(lo - ref.low) < 1e-9 and abs(hi - ref.high) < 1e-9, (k, n)
        p, z = k / n, stats.norm.ppf(0.975)
        lo, hi = S.proportion_ci(k, n, method="normal")
        h = z * math.sqrt(p * (1 - p) / n)
        assert abs(lo - max(p - h, 0)) < 1e-12 and abs(hi - min(p + h, 1)) < 1e-12
    assert S.proportion_ci(8, 10, level=0.99)[0] < S.proportion_ci(8, 10)[0]
    with pytest.raises(ValueError, match="successes"):
        S.proportion_ci(11, 10)
    with pytest.raises(ValueError, match="level"):
        S.proportion_ci(5, 10, level=95)


def test_bootstrap_ci_close_to_normal_interval_and_reproducible():
    rng = np.random.default_rng(0)
    v = (rng.random(2000) < 0.8).astype(float)
    lo, hi = S.bootstrap_ci(v, seed=1)
    nlo, nhi = S.proportion_ci(int(v.sum()), len(v), method="normal")
    assert abs(lo - nlo) < 0.006 and abs(hi - nhi) < 0.006
    assert S.bootstrap_ci(v, seed=1) == (lo, hi)
    with pytest.raises(ValueError, match="empty"):
        S.bootstrap_ci([])


def test_mcnemar_against_scipy():
    from scipy import stats
    rng = np.random.default_rng(5)
    for n, pa, pb in [(40, 0.2, 0.4), (500, 0.2, 0.25), (1000, 0.1, 0.1), (30, 0.1, 0.3)]:
        a, b = rng.random(n) > pa, rng.random(n) > pb
        nb, nc = int(np.sum(a & ~b)), int(np.sum(~a & b))
        exact = S.mcnemar_test(a, b, exact=True)
        assert (exact["b"], exact["c"]) == (nb, nc)
        assert abs(exact["p_value"] - stats.binomtest(min(nb, nc), nb + nc, 0.5).pvalue) < 1e-9, n
        chi = S.mcnemar_test(a, b, exact=False)
        stat = (abs(nb - nc) - 1) ** 2 / (nb + nc)
        assert abs(chi["statistic"] - stat) < 1e-12
        assert abs(chi["p_value"] - stats.chi2.sf(stat, 1)) < 1e-9, n
    assert S.mcnemar_test([1, 1], [1, 1])["p_value"] == 1.0
    assert S.mcnemar_test([1] * 30, [0] * 30)["method"] == "chi2"
    assert S.mcnemar_test([1] * 5, [0] * 5)["method"] == "exact"
    with pytest.raises(ValueError, match="length"):
        S.mcnemar_test([1, 0], [1])


def test_flag_metrics_and_threshold_for_precision_brute_force():
    m = S.review_flag_metrics([1, 1, 0, 1, 0], [0.9, 0.8, 0.7, 0.6, 0.1], 0.6)
    assert (m["tp"], m["fp"], m["fn"], m["tn"], m["flagged"]) == (3, 1, 0, 1, 4)
    assert m["precision"] == 0.75 and m["recall"] == 1.0
    assert math.isnan(S.review_flag_metrics([1, 0], [0.1, 0.2], 0.5)["precision"])
    assert S.threshold_for_precision([1, 1, 0, 1, 0], [0.9, 0.8, 0.7, 0.6, 0.1], 0.75) == (0.6, 0.75, 1.0)
    assert S.threshold_for_precision([0, 0, 1], [0.9, 0.8, 0.1], 0.5)[0] is None
    rng = np.random.default_rng(2)
    for _ in range(30):
        n = int(rng.integers(3, 60))
        t = rng.random(n) < 0.4
        s = np.round(rng.random(n) * 0.7 + 0.3 * t, 1)
        target = float(rng.choice([0.5, 0.7, 0.9]))
        best = None
        for thr in sorted(set(s), reverse=True):
            mm = S.review_flag_metrics(t, s, thr)
            if mm["precision"] >= target and (best is None or mm["recall"] > best[2]):
                best = (thr, mm["precision"], mm["recall"])
        got = S.threshold_for_precision(t, s, target)
        if best is None:
            assert got[0] is None
        else:
            assert got[0] == pytest.approx(best[0]) and got[2] == pytest.approx(best[2])


def test_leave_one_word_out_with_a_linear_toy_model():
    weights = np.array([0.0, 0.0, 0.5, -0.25, 0.125])
    calls = []

    def predict(batch):
        calls.append(batch.shape)
        return weights[batch].sum(axis=1)[:, None]

    p, deltas = S.leave_one_word_out(predict, np.array([2, 3, 4, 2, 0, 0]))
    assert calls == [(5, 6)]                                            # one call: the review and 4 deletions
    assert p == pytest.approx(0.875)
    np.testing.assert_allclose(deltas, [0.5, -0.25, 0.125, 0.5])
    with pytest.raises(ValueError, match="1-D integer"):
        S.leave_one_word_out(predict, np.ones((2, 3)))
