"""Text classification from scratch (notebook 18, sentiment analysis of product reviews).

Cleaning and tokenizing reviews the way ``keras.layers.TextVectorization`` does, bag-of-words counts and TF-IDF
weights (checked against scikit-learn), logistic regression by gradient descent on the log loss, confidence
intervals for an accuracy (Wilson, normal, bootstrap), McNemar's test for two classifiers scored on the same
examples, precision and recall of a flagging rule at a threshold, and a leave-one-word-out attribution.
NumPy (and the standard library) only; bag-of-words matrices are ``scipy.sparse`` CSR matrices when asked for.

Shapes: ``n`` documents, a vocabulary of ``V`` entries, token ids padded to length ``L``.
"""
from __future__ import annotations

import html
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np

from ._validate import as_float_array, positive_int

__all__ = ["KERAS_STRIP_PUNCTUATION", "clean_review", "review_tokens", "review_vocabulary", "review_ids",
           "bow_counts", "tfidf_from_counts", "logistic_loss_grad", "LogisticFit", "logistic_regression_fit",
           "lr_top_words", "proportion_ci", "bootstrap_ci", "mcnemar_test", "review_flag_metrics",
           "threshold_for_precision", "leave_one_word_out"]

#: the characters ``TextVectorization(standardize="lower_and_strip_punctuation")`` deletes (Keras' own regex)
KERAS_STRIP_PUNCTUATION = r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']'
_STRIP = re.compile(KERAS_STRIP_PUNCTUATION)
_TAG = re.compile(r"<[^>]*>")
PAD, OOV = "", "[UNK]"


def _texts(texts, name="texts") -> list[str]:
    if isinstance(texts, str):
        raise TypeError(f"{name} must be a list or array of strings, got one string: wrap it in a list")
    out = list(texts)
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise TypeError(f"{name}[{i}] must be a str, got {type(t).__name__}: {t!r}")
    return out


def clean_review(text):
    """Remove HTML tags (``<br />`` becomes a space), decode entities (``&quot;``), lower-case.

    ``text`` is one ``str`` (returns a ``str``) or a list/array of them (returns an object ndarray).
    Tags go before entities are decoded, so an encoded ``&lt;3`` stays text.
    """
    if isinstance(text, str):
        return html.unescape(_TAG.sub(" ", text)).lower()
    return np.array([clean_review(t) for t in _texts(text, "text")], dtype=object)


def review_tokens(text: str, clean: bool = True) -> list[str]:
    """The tokens of one review: :func:`clean_review` (if ``clean``), then what
    ``TextVectorization``'s default standardization does (delete ASCII punctuation, including the apostrophe:
    ``don't`` -> ``dont``), then split on whitespace."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    t = clean_review(text) if clean else text
    return _STRIP.sub("", t).split()


def _token_lists(token_lists, name="token_lists") -> list[list[str]]:
    if isinstance(token_lists, str):
        raise TypeError(f"{name} must be a list of token lists, got a string: use review_tokens(text) first")
    out = []
    for i, toks in enumerate(token_lists):
        if isinstance(toks, str):
            raise TypeError(f"{name}[{i}] must be a list of tokens, got a string: use review_tokens(text)")
        out.append(list(toks))
    return out


def review_vocabulary(token_lists, max_tokens: int | None = None, min_count: int = 1,
                      specials: bool = True) -> list[str]:
    """The vocabulary ``TextVectorization.adapt`` builds: ``["", "[UNK]"]`` (padding and out-of-vocabulary,
    when ``specials``) then the words by decreasing count, ties in decreasing (byte) order of the word,
    as Keras sorts them; at most ``max_tokens`` entries in all, words seen at least ``min_count`` times."""
    counts = Counter(t for toks in _token_lists(token_lists) for t in toks)
    words = sorted((w for w, c in counts.items() if c >= min_count),
                   key=lambda w: (counts[w], w.encode("utf-8")), reverse=True)
    vocab = ([PAD, OOV] if specials else []) + words
    if max_tokens is not None:
        positive_int("max_tokens", max_tokens)
        if specials and max_tokens < 2:
            raise ValueError(f"max_tokens must be >= 2 (padding and [UNK] take two entries), got {max_tokens}")
        vocab = vocab[:max_tokens]
    return vocab


def review_ids(token_lists, vocabulary, length: int | None = None) -> np.ndarray:
    """Token ids as ``TextVectorization(output_sequence_length=length)`` gives them: unknown words -> 1,
    padding with 0 **after** the words, long reviews **truncated at the end** (their first ``length`` words
    kept). ``vocabulary[0]`` must be the padding entry ``""`` and ``vocabulary[1]`` ``"[UNK]"``.
    ``length=None``: the longest review's length. Returns int64 ``(n, length)``."""
    vocabulary = list(vocabulary)
    if len(vocabulary) < 2 or vocabulary[0] != PAD or vocabulary[1] != OOV:
        raise ValueError("vocabulary must start with the padding entry '' and '[UNK]' "
                         "(review_vocabulary(..., specials=True) builds one)")
    index = {w: i for i, w in enumerate(vocabulary)}
    lists = _token_lists(token_lists)
    if length is None:
        length = max((len(t) for t in lists), default=0)
    elif isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 0:
        raise ValueError(f"length must be an int >= 0 or None, got {length!r}")
    out = np.zeros((len(lists), int(length)), dtype=np.int64)
    for r, toks in enumerate(lists):
        ids = [index.get(t, 1) for t in toks[:length]]
        out[r, :len(ids)] = ids
    return out


def bow_counts(token_lists, vocabulary, binary: bool = False, sparse: bool = False):
    """Bag of words: ``counts[i, j]`` = how often ``vocabulary[j]`` occurs in document ``i`` (1/0 when
    ``binary``). Words not in the vocabulary are ignored, and so are the entries ``""`` and ``"[UNK]"``
    (their columns stay zero). Returns float64 ``(n, V)``, a ``scipy.sparse`` CSR matrix when ``sparse``."""
    vocabulary = list(vocabulary)
    index = {w: j for j, w in enumerate(vocabulary) if w not in (PAD, OOV)}
    rows, cols, vals = [], [], []
    lists = _token_lists(token_lists)
    for i, toks in enumerate(lists):
        c = Counter(index[t] for t in toks if t in index)
        for j, k in c.items():
            rows.append(i)
            cols.append(j)
            vals.append(1.0 if binary else float(k))
    shape = (len(lists), len(vocabulary))
    if sparse:
        from scipy.sparse import csr_matrix
        m = csr_matrix((np.asarray(vals, dtype=np.float64), (np.asarray(rows, dtype=np.int64),
                        np.asarray(cols, dtype=np.int64))), shape=shape)
        m.sort_indices()
        return m
    out = np.zeros(shape, dtype=np.float64)
    out[rows, cols] = vals
    return out


def tfidf_from_counts(counts, idf=None, sublinear_tf: bool = False, smooth_idf: bool = True, norm: str | None = "l2"):
    """TF-IDF weights as scikit-learn's ``TfidfTransformer`` computes them.

    tf = the count (``1 + ln(count)`` for non-zero counts when ``sublinear_tf``);
    idf = ``ln((1 + n) / (1 + df)) + 1`` (smooth) or ``ln(n / df) + 1``, with ``df`` the number of documents of
    ``counts`` that contain the word; each row is then divided by its Euclidean length (``norm="l2"``; a row of
    zeros stays zero). Pass the training set's ``idf`` to weight new documents with it.
    ``counts``: ``(n, V)`` array or scipy sparse matrix. Returns ``(weights, idf)``, weights of the same kind.
    """
    if norm not in ("l2", None):
        raise ValueError(f"norm must be 'l2' or None, got {norm!r}")
    is_sparse = hasattr(counts, "tocsr")
    if is_sparse:
        m = counts.tocsr().astype(np.float64, copy=True)
        if m.data.size and m.data.min() < 0:
            raise ValueError("counts must be >= 0")
    else:
        m = as_float_array(counts, "counts", ndim=2).copy()
        if m.size and m.min() < 0:
            raise ValueError("counts must be >= 0")
    n, v = m.shape
    if idf is None:
        df = np.asarray((m > 0).sum(axis=0)).ravel().astype(np.float64)
        if smooth_idf:
            idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
        else:
            with np.errstate(divide="ignore"):
                idf = np.log(n / df) + 1.0
            idf[df == 0] = 0.0          # a word no document contains gets weight 0 (sklearn would give inf)
    else:
        idf = as_float_array(idf, "idf", ndim=1, shape=(v,))
    if is_sparse:
        if sublinear_tf:
            m.data = 1.0 + np.log(m.data)
        m = m.multiply(idf[None, :]).tocsr()
        if norm == "l2":
            lengths = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
            lengths[lengths == 0] = 1.0
            from scipy.sparse import diags
            m = (diags(1.0 / lengths) @ m).tocsr()
        m.sort_indices()
        return m, idf
    if sublinear_tf:
        nz = m > 0
        m[nz] = 1.0 + np.log(m[nz])
    m = m * idf[None, :]
    if norm == "l2":
        lengths = np.linalg.norm(m, axis=1, keepdims=True)
        m = m / np.where(lengths == 0, 1.0, lengths)
    return m, idf


# --------------------------------------------------------------------------- logistic regression

def _design(X, name="X"):
    if hasattr(X, "tocsr"):
        return X.tocsr()
    return as_float_array(X, name, ndim=2)


def _labels01(y, n, name="y") -> np.ndarray:
    a = np.asarray(y)
    if a.ndim != 1 or len(a) != n:
        raise ValueError(f"{name} must be a 1-D array of {n} labels (one per row of X), got shape {a.shape}")
    if not np.isin(a, (0, 1)).all():
        raise ValueError(f"{name} must hold 0/1 labels, got values {np.unique(a)[:5]}")
    return a.astype(np.float64)


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))        # = 1 / (1 + exp(-z)), without overflow warnings


def logistic_loss_grad(X, y, w, b: float, l2: float = 0.0):
    """Mean log loss of ``p = sigmoid(X @ w + b)`` plus ``l2 / 2 * ||w||^2`` (the bias is not penalised), and
    its gradient. Returns ``(loss, grad_w, grad_b)``: ``grad_w = X.T @ (p - y) / n + l2 * w``,
    ``grad_b = mean(p - y)``."""
    X = _design(X)
    n = X.shape[0]
    y = _labels01(y, n)
    w = as_float_array(w, "w", ndim=1, shape=(X.shape[1],))
    z = np.asarray(X @ w).ravel() + float(b)
    p = _sigmoid(z)
    # log(1 + exp(-|z|)) form: exact for large |z|
    loss = np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))) + 0.5 * l2 * float(w @ w)
    r = p - y
    grad_w = np.asarray(X.T @ r).ravel() / n + l2 * w
    return float(loss), grad_w, float(r.mean())


@dataclass
class LogisticFit:
    """The result of :func:`logistic_regression_fit`: weights ``w`` (V,), bias ``b``, and the (penalised)
    training loss before every step and after the last (``losses``, ``steps + 1`` values)."""
    w: np.ndarray
    b: float
    losses: np.ndarray = field(repr=False)

    def predict_proba(self, X) -> np.ndarray:
        """``p(y = 1 | x)`` for each row of ``X``, shape (n,)."""
        return _sigmoid(np.asarray(_design(X) @ self.w).ravel() + self.b)


def logistic_regression_fit(X, y, l2: float = 0.0, lr: float = 1.0, steps: int = 500, momentum: float = 0.0,
                            w0=None, b0: float = 0.0) -> LogisticFit:
    """Full-batch gradient descent on :func:`logistic_loss_grad`, from ``w0`` (zeros by default).

    ``momentum`` > 0 uses Nesterov's accelerated step (``v = momentum * v - lr * grad(at w + momentum * v)``;
    ``w += v``), which reaches the optimum in far fewer steps when ``l2`` is small; ``momentum = 0`` is plain
    gradient descent, ``w -= lr * grad``, the update of ``keras.optimizers.SGD(lr)`` with one batch of all rows.
    The loss is convex: with a small enough ``lr`` and enough steps this reaches the same optimum as
    ``sklearn.linear_model.LogisticRegression(C=1 / (l2 * n))``.
    """
    X = _design(X)
    n, v = X.shape
    y = _labels01(y, n)
    steps = positive_int("steps", steps)
    for name, val in (("l2", l2), ("lr", lr)):
        if not isinstance(val, (int, float, np.integer, np.floating)) or isinstance(val, bool) or val < 0:
            raise ValueError(f"{name} must be a number >= 0, got {val!r}")
    if not 0.0 <= momentum < 1.0:
        raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
    w = np.zeros(v) if w0 is None else as_float_array(w0, "w0", ndim=1, shape=(v,)).copy()
    b = float(b0)
    vw, vb = np.zeros(v), 0.0
    losses = np.empty(steps + 1)
    for t in range(steps):
        if momentum:
            losses[t] = logistic_loss_grad(X, y, w, b, l2)[0]
            _, gw, gb = logistic_loss_grad(X, y, w + momentum * vw, b + momentum * vb, l2)   # look ahead
            vw, vb = momentum * vw - lr * gw, momentum * vb - lr * gb
            w, b = w + vw, b + vb
        else:
            losses[t], gw, gb = logistic_loss_grad(X, y, w, b, l2)
            w, b = w - lr * gw, b - lr * gb
    losses[steps] = logistic_loss_grad(X, y, w, b, l2)[0]
    return LogisticFit(w=w, b=b, losses=losses)


def lr_top_words(coef, vocabulary, k: int = 10):
    """The ``k`` words with the largest and the ``k`` with the smallest (most negative) weights:
    ``(top_positive, top_negative)``, two lists of ``(word, weight)``, strongest first."""
    coef = as_float_array(coef, "coef", ndim=1)
    vocabulary = list(vocabulary)
    if len(vocabulary) != len(coef):
        raise ValueError(f"vocabulary has {len(vocabulary)} entries but coef has {len(coef)}")
    k = positive_int("k", k)
    order = np.argsort(coef, kind="stable")
    pos = [(vocabulary[j], float(coef[j])) for j in order[::-1][:k]]
    neg = [(vocabulary[j], float(coef[j])) for j in order[:k]]
    return pos, neg


# --------------------------------------------------------------------------- uncertainty and comparison

def _z(level: float) -> float:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), e.g. 0.95, got {level!r}")
    return NormalDist().inv_cdf(0.5 + level / 2.0)


def proportion_ci(successes, n, level: float = 0.95, method: str = "wilson") -> tuple[float, float]:
    """Confidence interval for a proportion (an accuracy: ``successes`` right out of ``n``).

    ``"normal"`` (Wald): ``p ± z sqrt(p (1 - p) / n)``, clipped to [0, 1]; ``"wilson"``: the interval of the
    ``p`` whose normal test does not reject, ``(p + z²/2n ± z sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)``, better
    near 0 and 1 and for small ``n``. ``z`` is the normal quantile of ``(1 + level) / 2`` (1.96 for 95%)."""
    n = positive_int("n", n)
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be in [0, n={n}], got {successes!r}")
    if method not in ("wilson", "normal"):
        raise ValueError(f"method must be 'wilson' or 'normal', got {method!r}")
    z = _z(level)
    p = successes / n
    if method == "normal":
        h = z * math.sqrt(p * (1 - p) / n)
        return max(0.0, p - h), min(1.0, p + h)
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - h), min(1.0, centre + h)


def bootstrap_ci(values, level: float = 0.95, n_boot: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval for the mean of ``values`` (e.g. 1/0 per review for an accuracy, or
    ``correct_a - correct_b`` for a paired difference): resample the reviews with replacement ``n_boot`` times
    and take the ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles of the resampled means."""
    v = as_float_array(values, "values", ndim=1)
    if len(v) == 0:
        raise ValueError("values is empty")
    n_boot = positive_int("n_boot", n_boot)
    _z(level)
    rng = np.random.default_rng(seed)
    means = np.empty(n_boot)
    for start in range(0, n_boot, 500):            # chunks: memory stays at 500 x n
        k = min(500, n_boot - start)
        means[start:start + k] = v[rng.integers(0, len(v), size=(k, len(v)))].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def _bool_vector(a, name, n=None):
    arr = np.asarray(a)
    if arr.ndim != 1 or (n is not None and len(arr) != n):
        raise ValueError(f"{name} must be 1-D" + ("" if n is None else f" of length {n}") + f", got shape {arr.shape}")
    if not np.isin(arr, (0, 1)).all():
        raise ValueError(f"{name} must be booleans or 0/1 (right or wrong per example)")
    return arr.astype(bool)


def mcnemar_test(correct_a, correct_b, exact: bool | None = None) -> dict:
    """McNemar's test that two classifiers scored on the same examples have the same accuracy.

    Only the examples they disagree on count: ``b`` = A right and B wrong, ``c`` = A wrong and B right. Under
    the null hypothesis each of these ``b + c`` is equally likely to go either way. ``exact=False``: the
    chi-squared statistic with continuity correction, ``(|b - c| - 1)² / (b + c)``, 1 degree of freedom,
    p-value ``erfc(sqrt(stat / 2))``; ``exact=True``: the two-sided binomial p-value
    ``min(1, 2 P(Binomial(b + c, 1/2) <= min(b, c)))``. ``None`` picks exact when ``b + c < 25``.
    Returns ``{"b", "c", "statistic", "p_value", "method"}`` (statistic: chi-squared, or ``min(b, c)`` when exact;
    p-value 1 when ``b + c == 0``).
    """
    a = _bool_vector(correct_a, "correct_a")
    bb = _bool_vector(correct_b, "correct_b", len(a))
    b = int(np.sum(a & ~bb))
    c = int(np.sum(~a & bb))
    m = b + c
    if exact is None:
        exact = m < 25
    if m == 0:
        return {"b": b, "c": c, "statistic": 0.0, "p_value": 1.0, "method": "exact" if exact else "chi2"}
    if exact:
        k = min(b, c)
        # P(X <= k) for X ~ Binomial(m, 1/2), in logs (m can be large)
        logs = [math.lgamma(m + 1) - math.lgamma(i + 1) - math.lgamma(m - i + 1) - m * math.log(2)
                for i in range(k + 1)]
        top = max(logs)
        cdf = math.exp(top) * sum(math.exp(x - top) for x in logs)
        return {"b": b, "c": c, "statistic": float(k), "p_value": min(1.0, 2.0 * cdf), "method": "exact"}
    stat = (abs(b - c) - 1.0) ** 2 / m if abs(b - c) >= 1 else 0.0
    return {"b": b, "c": c, "statistic": float(stat), "p_value": float(math.erfc(math.sqrt(stat / 2.0))),
            "method": "chi2"}


def review_flag_metrics(is_target, scores, threshold: float) -> dict:
    """A flagging rule ``flag = scores >= threshold`` judged against ``is_target`` (1 = a review the shop wants
    flagged). Returns ``{"flagged", "precision", "recall", "tp", "fp", "fn", "tn"}``; precision is ``nan``
    when nothing is flagged."""
    s = as_float_array(scores, "scores", ndim=1)
    t = _bool_vector(is_target, "is_target", len(s))
    flag = s >= threshold
    tp, fp = int(np.sum(flag & t)), int(np.sum(flag & ~t))
    fn, tn = int(np.sum(~flag & t)), int(np.sum(~flag & ~t))
    return {"flagged": tp + fp, "precision": tp / (tp + fp) if tp + fp else float("nan"),
            "recall": tp / (tp + fn) if tp + fn else float("nan"), "tp": tp, "fp": fp, "fn": fn, "tn": tn}


def threshold_for_precision(is_target, scores, target_precision: float):
    """The threshold with the highest recall among those whose flagging rule ``scores >= threshold`` has
    precision >= ``target_precision``; candidates are the distinct scores (flagging everything from that
    score up). Ties in recall go to the higher threshold (fewer flags). Returns
    ``(threshold, precision, recall)``, or ``(None, nan, 0.0)`` when no threshold reaches the target."""
    s = as_float_array(scores, "scores", ndim=1)
    t = _bool_vector(is_target, "is_target", len(s))
    if not 0.0 <= target_precision <= 1.0:
        raise ValueError(f"target_precision must be in [0, 1], got {target_precision!r}")
    order = np.argsort(-s, kind="stable")
    ss, tt = s[order], t[order]
    tp = np.cumsum(tt)
    flagged = np.arange(1, len(s) + 1)
    last = np.r_[ss[1:] != ss[:-1], True]            # a threshold flags every review up to a change of score
    best = None
    for i in np.flatnonzero(last):
        prec = tp[i] / flagged[i]
        if prec >= target_precision - 1e-12:
            rec = tp[i] / max(int(t.sum()), 1)
            if best is None or rec > best[2] + 1e-12:
                best = (float(ss[i]), float(prec), float(rec))
    return best if best is not None else (None, float("nan"), 0.0)


def leave_one_word_out(predict, ids, pad_id: int = 0):
    """Attribution by deletion for one padded id sequence ``ids`` (L,): for each word, the change of the
    model's output when that word is **deleted** (the words after it move one place left, a pad comes in at
    the end). ``predict`` maps ``(m, L)`` ids to ``(m,)`` or ``(m, 1)`` probabilities and is called **once**
    on the original and all deletions. Returns ``(p, deltas)``: ``p`` the output on the whole review and
    ``deltas[i] = p - p(without word i)`` for the ``i``-th non-pad word (positive: the word pushed the output
    up)."""
    ids = np.asarray(ids)
    if ids.ndim != 1 or ids.dtype.kind not in "iu":
        raise ValueError(f"ids must be a 1-D integer array (one padded review), got shape {ids.shape}, "
                         f"dtype {ids.dtype}")
    words = np.flatnonzero(ids != pad_id)
    length = len(ids)
    batch = np.full((len(words) + 1, length), pad_id, dtype=ids.dtype)
    batch[0] = ids
    kept = ids[words]
    for r in range(len(words)):
        rest = np.delete(kept, r)
        batch[r + 1, :len(rest)] = rest
    out = np.asarray(predict(batch), dtype=np.float64).reshape(len(batch), -1)[:, -1]
    return float(out[0]), out[0] - out[1:]
