"""Word embeddings from scratch (notebook 17): tokenization as Keras' ``TextVectorization`` does it,
bag of words and TF-IDF, skip-gram pairs with subsampling and negative sampling, the SGNS loss and
its gradient, cosine nearest neighbours, analogies (3CosAdd and 3CosMul), and count-based vectors
(PPMI + truncated SVD) and a 2-D PCA for the projector.

Conventions: a tokenized corpus is an int array ``ids`` (one vocabulary index per kept word) with a
parallel array ``doc_ids`` (which document each word came from), so windows never cross documents.
Vectors are rows of a ``(vocab_size, dim)`` array; "unit" tables have rows of norm 1.
NumPy (and SciPy for the sparse SVD) only.
"""
from __future__ import annotations

import re
from collections import Counter

import numpy as np

from .backprop import one_hot

from ..env import one_blas_thread
from ._validate import positive_int

__all__ = ["TEXTVEC_PUNCTUATION", "textvec_standardize", "textvec_vocabulary", "textvec_encode",
           "keras_idf_weights", "tfidf_matrix", "one_hot_rows", "subsample_keep_prob",
           "noise_distribution", "skipgram_pairs", "sgns_examples", "sgns_loss_grads", "unit_rows",
           "nearest_words", "analogy_3cosadd", "analogy_3cosmul", "analogy_accuracy",
           "randomized_svd", "ppmi_svd_vectors", "pca_2d"]

#: the characters ``TextVectorization(standardize="lower_and_strip_punctuation")`` deletes
#: (Keras' regular expression ``[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']``)
TEXTVEC_PUNCTUATION = "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~'"
_PUNCT_RE = re.compile("[" + re.escape(TEXTVEC_PUNCTUATION) + "]")


def textvec_standardize(text: str) -> str:
    """Keras' default standardization: lower case (ASCII letters, as ``tf.strings.lower``), then
    every character of :data:`TEXTVEC_PUNCTUATION` deleted (not replaced by a space)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    lowered = "".join(ch.lower() if "A" <= ch <= "Z" else ch for ch in text)
    return _PUNCT_RE.sub("", lowered)


def _tokenize_all(texts, standardize=True) -> list[list[str]]:
    if isinstance(texts, str):
        raise TypeError("texts must be a list of strings (documents), not one string")
    return [(textvec_standardize(t) if standardize else t).split() for t in texts]


def textvec_vocabulary(texts, max_tokens: int | None = None, output_mode: str = "int",
                       standardize: bool = True) -> list[str]:
    """The vocabulary ``TextVectorization.adapt(texts)`` learns, special tokens included.

    Tokens are sorted by count, most frequent first; ties by the token's bytes in *descending*
    order (Keras sorts with ``np.lexsort((tokens, counts))[::-1]``). ``output_mode="int"`` puts the
    padding token ``""`` at index 0 and ``"[UNK]"`` (out of vocabulary, OOV) at 1; the other modes
    only ``"[UNK]"`` at 0. ``max_tokens`` counts the special tokens.
    """
    if output_mode not in ("int", "multi_hot", "count", "tf_idf"):
        raise ValueError(f"output_mode must be 'int', 'multi_hot', 'count' or 'tf_idf', got {output_mode!r}")
    counts = Counter(w for doc in _tokenize_all(texts, standardize) for w in doc)
    special = ["", "[UNK]"] if output_mode == "int" else ["[UNK]"]
    for s in special:
        counts.pop(s, None)
    ranked = sorted(counts.items(), key=lambda kv: (kv[1], kv[0].encode("utf-8")), reverse=True)
    words = [w for w, _ in ranked]
    if max_tokens is not None:
        max_tokens = positive_int("max_tokens", max_tokens)
        if max_tokens <= len(special):
            raise ValueError(f"max_tokens must be > {len(special)} (the special tokens), got {max_tokens}")
        words = words[:max_tokens - len(special)]
    return special + words


def keras_idf_weights(texts, vocabulary, standardize: bool = True) -> np.ndarray:
    """TextVectorization's ``tf_idf`` weights for a vocabulary from :func:`textvec_vocabulary`
    (``output_mode`` other than int, ``"[UNK]"`` first): ``idf(w) = ln(1 + N / (1 + df(w)))``
    with ``N`` documents and ``df(w)`` the number of documents containing ``w``; the OOV entry
    (index 0) gets the mean of the others."""
    docs = _tokenize_all(texts, standardize)
    vocabulary = list(vocabulary)
    if not vocabulary or vocabulary[0] != "[UNK]":
        raise ValueError("vocabulary must start with '[UNK]' (the tf_idf layout, without the padding token)")
    df = Counter(w for doc in docs for w in set(doc))
    idf = np.array([np.log(1.0 + len(docs) / (1.0 + df.get(w, 0))) for w in vocabulary[1:]])
    return np.concatenate([[idf.mean() if idf.size else 0.0], idf])


def textvec_encode(texts, vocabulary, output_mode: str = "int", sequence_length: int | None = None,
                   idf_weights=None, standardize: bool = True) -> np.ndarray:
    """What ``TextVectorization`` returns for ``texts`` with this vocabulary.

    - ``"int"``: one index per token (OOV -> 1), each row padded with 0 or cut (at the end) to
      ``sequence_length`` (default: the longest text);
    - ``"multi_hot"``: ``(n, len(vocabulary))`` 1 where the token occurs (OOV -> column 0);
    - ``"count"``: how many times; ``"tf_idf"``: count times ``idf_weights``.
    """
    vocabulary = list(vocabulary)
    index = {w: i for i, w in enumerate(vocabulary)}
    docs = _tokenize_all(texts, standardize)
    if output_mode == "int":
        if vocabulary[:2] != ["", "[UNK]"]:
            raise ValueError("an int-mode vocabulary starts with '' (padding) and '[UNK]'")
        seqs = [[index.get(w, 1) for w in doc] for doc in docs]
        n = max((len(s) for s in seqs), default=0) if sequence_length is None else positive_int(
            "sequence_length", sequence_length)
        out = np.zeros((len(seqs), n), dtype=np.int64)
        for r, s in enumerate(seqs):
            s = s[:n]
            out[r, :len(s)] = s
        return out
    if output_mode not in ("multi_hot", "count", "tf_idf"):
        raise ValueError(f"output_mode must be 'int', 'multi_hot', 'count' or 'tf_idf', got {output_mode!r}")
    if vocabulary[0] != "[UNK]":
        raise ValueError("a multi_hot/count/tf_idf vocabulary starts with '[UNK]'")
    out = np.zeros((len(docs), len(vocabulary)), dtype=np.float64)
    for r, doc in enumerate(docs):
        for w in doc:
            out[r, index.get(w, 0)] += 1.0
    if output_mode == "multi_hot":
        return (out > 0).astype(np.float64)
    if output_mode == "tf_idf":
        if idf_weights is None:
            raise ValueError("output_mode='tf_idf' needs idf_weights (see keras_idf_weights)")
        w = np.asarray(idf_weights, dtype=np.float64)
        if w.shape != (len(vocabulary),):
            raise ValueError(f"idf_weights must have shape ({len(vocabulary)},), got {w.shape}")
        out = out * w
    return out


def tfidf_matrix(texts, vocabulary, fit_texts=None, standardize: bool = True) -> np.ndarray:
    """TF-IDF rows as ``TextVectorization(output_mode="tf_idf")`` adapted on ``fit_texts``
    (default: ``texts``) computes them: term counts times :func:`keras_idf_weights`."""
    idf = keras_idf_weights(texts if fit_texts is None else fit_texts, vocabulary, standardize)
    return textvec_encode(texts, vocabulary, "count", standardize=standardize) * idf


def one_hot_rows(ids, vocab_size: int) -> np.ndarray:
    """``(n, vocab_size)`` one-hot rows of the integer ``ids``."""
    vocab_size = positive_int("vocab_size", vocab_size)
    ids = np.asarray(ids)
    if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"ids must be a 1-D integer array, got shape {ids.shape}, dtype {ids.dtype}")
    if ids.size and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError(f"ids must lie in [0, {vocab_size - 1}], got [{ids.min()}, {ids.max()}]")
    return one_hot(ids, vocab_size)   # notebook 03's reference builds the rows


def _counts(counts) -> np.ndarray:
    c = np.asarray(counts, dtype=np.float64)
    if c.ndim != 1 or c.size == 0 or (c < 0).any() or c.sum() <= 0:
        raise ValueError(f"counts must be a 1-D array of non-negative word counts with a positive sum, "
                         f"got shape {c.shape}")
    return c


def subsample_keep_prob(counts, t: float = 1e-4) -> np.ndarray:
    """word2vec's probability of keeping an occurrence of each word (the C code's formula):
    ``min(1, sqrt(t / f) + t / f)`` with ``f`` the word's share of all tokens. Words rarer than
    about ``t`` are always kept; "the" is mostly dropped."""
    c = _counts(counts)
    if not t > 0:
        raise ValueError(f"t must be > 0, got {t}")
    f = c / c.sum()
    with np.errstate(divide="ignore"):
        keep = np.sqrt(t / f) + t / f
    return np.minimum(1.0, keep)


def noise_distribution(counts, power: float = 0.75) -> np.ndarray:
    """Negative-sampling distribution ``P(w) ∝ count(w) ** power`` (word2vec: 0.75)."""
    c = _counts(counts)
    p = c ** power
    return p / p.sum()


def skipgram_pairs(ids, window: int, doc_ids=None) -> tuple[np.ndarray, np.ndarray]:
    """All skip-gram (target, context) pairs: every word with each word at most ``window``
    positions before or after it in the same document. Vectorised: one slice per offset.

    Returns ``(targets, contexts)``, ordered by the target's position, then the context's.
    """
    window = positive_int("window", window)
    ids = np.asarray(ids)
    if ids.ndim != 1:
        raise ValueError(f"ids must be 1-D, got shape {ids.shape}")
    doc = np.zeros(len(ids), dtype=np.int64) if doc_ids is None else np.asarray(doc_ids)
    if doc.shape != ids.shape:
        raise ValueError(f"doc_ids must have the shape of ids {ids.shape}, got {doc.shape}")
    pos = np.arange(len(ids))
    t_pos, c_pos = [], []
    for d in range(1, window + 1):
        same = doc[:-d] == doc[d:] if d < len(ids) else np.zeros(0, bool)
        left, right = pos[:-d][same], pos[d:][same]
        t_pos += [left, right]
        c_pos += [right, left]
    t_pos = np.concatenate(t_pos) if t_pos else np.zeros(0, np.int64)
    c_pos = np.concatenate(c_pos) if c_pos else np.zeros(0, np.int64)
    order = np.lexsort((c_pos, t_pos))
    return ids[t_pos[order]], ids[c_pos[order]]


def _window_pairs(ids, window: int, doc_ids=None) -> tuple[np.ndarray, np.ndarray]:
    """The pairs of :func:`skipgram_pairs` in no particular order (offset by offset): for counting."""
    doc = np.zeros(len(ids), dtype=np.int64) if doc_ids is None else np.asarray(doc_ids)
    if doc.shape != ids.shape:
        raise ValueError(f"doc_ids must have the shape of ids {ids.shape}, got {doc.shape}")
    tg, cx = [ids[:0]], [ids[:0]]
    for d in range(1, min(window, len(ids) - 1) + 1):
        same = doc[:-d] == doc[d:]
        left, right = ids[:-d][same], ids[d:][same]
        tg += [left, right]
        cx += [right, left]
    return np.concatenate(tg), np.concatenate(cx)


def sgns_examples(ids, doc_ids, counts, window: int = 4, negatives: int = 5, t: float = 1e-4,
                  power: float = 0.75, rng=None, fraction: float = 1.0):
    """One epoch of skip-gram-with-negative-sampling examples.

    Subsample the corpus (:func:`subsample_keep_prob`, before windowing, as word2vec does), make
    the :func:`skipgram_pairs`, keep a random ``fraction`` of them in random order, and draw
    ``negatives`` noise words per pair from :func:`noise_distribution`.

    Returns ``targets (n,)``, ``contexts (n, 1 + negatives)`` (the true context first) and
    ``labels (n, 1 + negatives)`` (1 then 0s), all int32/float32: each row stands for
    ``1 + negatives`` (target, context, label) triples sharing one target.
    """
    rng = np.random.default_rng(rng)
    ids, doc = np.asarray(ids), np.asarray(doc_ids)
    keep = subsample_keep_prob(counts, t)
    kept = rng.random(len(ids)) < keep[ids]
    tg, cx = skipgram_pairs(ids[kept], window, doc[kept])
    n = int(round(len(tg) * fraction))
    pick = rng.permutation(len(tg))[:n]
    if isinstance(negatives, bool) or not isinstance(negatives, (int, np.integer)) or negatives < 0:
        raise ValueError(f"negatives must be an int >= 0, got {negatives!r}")
    cdf = np.cumsum(noise_distribution(counts, power))
    neg = np.minimum(np.searchsorted(cdf, rng.random((n, int(negatives))) * cdf[-1], side="right"), len(cdf) - 1)
    contexts = np.concatenate([cx[pick, None], neg], axis=1).astype(np.int32)
    labels = np.zeros(contexts.shape, dtype=np.float32)
    labels[:, 0] = 1.0
    return tg[pick].astype(np.int32), contexts, labels


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def sgns_loss_grads(v, U, labels):
    """The SGNS loss of one target vector ``v`` (d,) against context vectors ``U`` (m, d) with
    ``labels`` (m,) in {0, 1}: ``-sum_j [y_j log s(u_j.v) + (1 - y_j) log s(-u_j.v)]``, and its
    gradients. Returns ``(loss, grad_v (d,), grad_U (m, d))``."""
    v = np.asarray(v, dtype=np.float64)
    U = np.asarray(U, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    if v.ndim != 1 or U.ndim != 2 or U.shape[1] != v.shape[0] or y.shape != (U.shape[0],):
        raise ValueError(f"need v (d,), U (m, d), labels (m,); got {v.shape}, {U.shape}, {y.shape}")
    s = U @ v
    loss = float(np.sum(np.logaddexp(0.0, -s) * y + np.logaddexp(0.0, s) * (1 - y)))
    err = _sigmoid(s) - y
    return loss, U.T @ err, np.outer(err, v)


def unit_rows(vectors) -> np.ndarray:
    """Rows scaled to norm 1 (zero rows stay zero), float32: cosine = dot product."""
    V = np.asarray(vectors, dtype=np.float32)
    if V.ndim != 2:
        raise ValueError(f"vectors must be 2-D (words, dim), got shape {V.shape}")
    n = np.linalg.norm(V, axis=1, keepdims=True)
    return V / np.where(n > 0, n, 1.0)


def nearest_words(unit_vectors, words, query, k: int = 10):
    """The ``k`` words of highest cosine similarity to ``query`` (a word of ``words``, excluded
    from the answer, or a vector). Returns ``[(word, cosine), ...]``."""
    k = positive_int("k", k)
    words = list(words)
    U = np.asarray(unit_vectors)
    if U.shape[0] != len(words):
        raise ValueError(f"unit_vectors has {U.shape[0]} rows but words has {len(words)} entries")
    if isinstance(query, str):
        try:
            q = words.index(query)
        except ValueError:
            raise KeyError(f"{query!r} is not in the vocabulary") from None
        sims = U @ U[q]
        sims[q] = -np.inf
    else:
        x = np.asarray(query, dtype=np.float32)
        sims = U @ (x / (np.linalg.norm(x) or 1.0))
    top = np.argpartition(-sims, min(k, len(sims) - 1))[:k]
    top = top[np.argsort(-sims[top], kind="stable")]
    return [(words[i], float(sims[i])) for i in top]


def _questions(questions, n):
    q = np.asarray(questions)
    if q.ndim != 2 or q.shape[1] < 3 or not np.issubdtype(q.dtype, np.integer):
        raise ValueError(f"questions must be an int array (n, 3) or (n, 4) of word indices, got {q.shape}")
    if q.size and (q.min() < 0 or q.max() >= n):
        raise ValueError(f"question indices must lie in [0, {n - 1}]")
    return q


def analogy_3cosadd(unit_vectors, questions, batch: int = 1024) -> np.ndarray:
    """3CosAdd: for each question ``(a, b, c[, d])`` (row indices) the index of the word maximising
    ``cos(x, b - a + c)``, the question words ``a``, ``b``, ``c`` excluded. Batched matmuls."""
    U = np.asarray(unit_vectors, dtype=np.float32)
    q = _questions(questions, len(U))
    out = np.empty(len(q), dtype=np.int64)
    for s in range(0, len(q), batch):
        b = q[s:s + batch]
        scores = (U[b[:, 1]] - U[b[:, 0]] + U[b[:, 2]]) @ U.T
        rows = np.arange(len(b))
        for j in range(3):
            scores[rows, b[:, j]] = -np.inf
        out[s:s + batch] = scores.argmax(axis=1)
    return out


def analogy_3cosmul(unit_vectors, questions, eps: float = 1e-3, batch: int = 1024) -> np.ndarray:
    """3CosMul (Levy & Goldberg, 2014): argmax of ``cos'(x, b) cos'(x, c) / (cos'(x, a) + eps)``
    with ``cos' = (cos + 1) / 2`` in [0, 1], the question words excluded."""
    U = np.asarray(unit_vectors, dtype=np.float32)
    q = _questions(questions, len(U))
    out = np.empty(len(q), dtype=np.int64)
    for s in range(0, len(q), batch):
        b = q[s:s + batch]
        ca, cb, cc = ((U[b[:, j]] @ U.T + 1.0) / 2.0 for j in range(3))
        scores = cb * cc / (ca + eps)
        rows = np.arange(len(b))
        for j in range(3):
            scores[rows, b[:, j]] = -np.inf
        out[s:s + batch] = scores.argmax(axis=1)
    return out


def analogy_accuracy(unit_vectors, words, questions, sections=None, method: str = "add") -> dict:
    """Accuracy on analogy questions ``[a, b, c, d]`` (strings) whose four words are in ``words``.

    Returns a dict: ``accuracy`` (on the covered questions), ``coverage`` (their share), ``n``
    (covered), ``covered`` (bool mask over all questions), ``correct`` (bool, per covered question),
    ``predicted`` (word per covered question) and, with ``sections`` (one label per question),
    ``by_section`` ``{label: (accuracy, n)}``.
    """
    if method not in ("add", "mul"):
        raise ValueError(f"method must be 'add' (3CosAdd) or 'mul' (3CosMul), got {method!r}")
    words = list(words)
    index = {w: i for i, w in enumerate(words)}
    Q = np.asarray(questions, dtype=object)
    if Q.ndim != 2 or Q.shape[1] != 4:
        raise ValueError(f"questions must have shape (n, 4), got {Q.shape}")
    idx = np.array([[index.get(w, -1) for w in row] for row in Q], dtype=np.int64).reshape(-1, 4)
    covered = (idx >= 0).all(axis=1)
    q = idx[covered]
    pred = (analogy_3cosadd if method == "add" else analogy_3cosmul)(unit_vectors, q) if len(q) else \
        np.zeros(0, np.int64)
    correct = pred == q[:, 3]
    out = {"accuracy": float(correct.mean()) if len(q) else float("nan"), "coverage": float(covered.mean()),
           "n": int(covered.sum()), "covered": covered, "correct": correct,
           "predicted": [words[i] for i in pred]}
    if sections is not None:
        sec = np.asarray(sections)[covered]
        out["by_section"] = {s: (float(correct[sec == s].mean()), int((sec == s).sum()))
                             for s in np.unique(sec)}
    return out


def randomized_svd(A, k: int, n_iter: int = 7, oversample: int = 10, seed=0):
    """The ``k`` largest singular triplets of ``A`` (dense or SciPy sparse), approximately, by the
    randomized range finder of Halko, Martinsson & Tropp (2011): multiply ``A`` by ``k + oversample``
    random vectors, sharpen that basis with ``n_iter`` power iterations (``A Aᵀ`` applied, an LU
    factorization after each product so the columns do not all turn into the top one), then one QR
    for an orthonormal basis ``Q`` and the exact SVD of the small ``(k + oversample, n)``
    matrix ``B = Qᵀ A`` (from the eigenvectors of the tiny ``B Bᵀ``). Only products with ``A`` and thin dense factorizations: far cheaper than a
    Lanczos solver (ARPACK) when ``k`` is in the hundreds, and each extra iteration makes the
    leading singular vectors more exact. Computes in ``A``'s float type (float32 stays float32).
    Returns ``(U (m, k), S (k,) descending, Vt (k, n))``."""
    k = positive_int("k", k)
    if isinstance(n_iter, bool) or not isinstance(n_iter, (int, np.integer)) or n_iter < 0:
        raise ValueError(f"n_iter must be an int >= 0, got {n_iter!r}")
    m, n = A.shape
    if k > min(m, n):
        raise ValueError(f"k must be at most min(A.shape) = {min(m, n)}, got {k}")
    dtype = np.float32 if A.dtype == np.float32 else np.float64
    width = min(k + int(oversample), m, n)
    from scipy.linalg import lu
    with one_blas_thread():
        Q = np.random.default_rng(seed).standard_normal((n, width)).astype(dtype)
        for _ in range(n_iter):                 # LU keeps the columns apart, cheaper than QR
            Q = lu(A @ Q, permute_l=True, check_finite=False)[0]
            Q = lu(A.T @ Q, permute_l=True, check_finite=False)[0]
        Q, _ = np.linalg.qr(A @ Q)              # an orthonormal basis of A's leading columns
        B = np.asarray((A.T @ Q).T, dtype=np.float64)   # Qᵀ A, (width, n): A ≈ Q B
        S2, Ub = np.linalg.eigh(B @ B.T)        # B = Ub S Vt, so B Bᵀ = Ub S² Ubᵀ: a small eigenproblem
        top = np.argsort(-S2)[:k]
        S = np.sqrt(np.maximum(S2[top], 0.0))
        Ub = Ub[:, top]
        Vt = (Ub.T @ B) / np.where(S > 0, S, 1.0)[:, None]
        return Q @ Ub.astype(dtype), S.astype(dtype), Vt.astype(dtype)


def ppmi_svd_vectors(ids, doc_ids, vocab_size: int, window: int = 4, dim: int = 100,
                     power: float = 0.75, n_iter: int | None = 7) -> np.ndarray:
    """Count-based word vectors: co-occurrence counts within ``window`` (same document), positive
    PMI with the context counts raised to ``power`` (as SGNS's noise), then a truncated SVD,
    ``U * sqrt(S)`` (Levy, Goldberg & Dagan, 2015). Returns ``(vocab_size, dim)`` float32.

    The counts come from the pairs of :func:`skipgram_pairs` (unsorted) as the distinct codes
    ``target * vocab_size + context`` and their counts. The SVD is :func:`randomized_svd` with ``n_iter``
    power iterations in float32 (``n_iter=None``: SciPy's exact Lanczos ``svds``, in float64)."""
    import scipy.sparse as sp
    vocab_size = positive_int("vocab_size", vocab_size)
    tg, cx = _window_pairs(np.asarray(ids), positive_int("window", window), doc_ids)
    code, data = np.unique(tg.astype(np.int64) * vocab_size + cx, return_counts=True)   # one cell per pair
    data = data.astype(np.float64)
    row, col = code // vocab_size, code % vocab_size
    total = data.sum()
    rows = np.bincount(row, weights=data, minlength=vocab_size)
    cols = np.bincount(col, weights=data, minlength=vocab_size) ** power
    cols /= cols.sum()
    pmi = np.log(data / total) - np.log(rows[row] / total) - np.log(cols[col])
    keep = pmi > 0
    k = min(positive_int("dim", dim), vocab_size - 1)
    if n_iter is None:
        from scipy.sparse.linalg import svds
        P = sp.csr_matrix((pmi[keep], (row[keep], col[keep])), shape=(vocab_size, vocab_size))
        U, S, _ = svds(P, k=k, random_state=np.random.default_rng(0))   # an int seed fails with NumPy 2.0 + SciPy 1.17
        order = np.argsort(-S)
        U, S = U[:, order], S[order]
    else:
        P = sp.csr_matrix((pmi[keep].astype(np.float32), (row[keep], col[keep])), shape=(vocab_size, vocab_size))
        U, S, _ = randomized_svd(P, k, n_iter=n_iter)
    return (U * np.sqrt(S)).astype(np.float32)


def pca_2d(X, fit_rows=None):
    """PCA to two dimensions from scratch: centre, SVD, project. ``fit_rows`` (an index or slice)
    chooses the rows that define the mean and the axes (default: all). Returns
    ``(coords (n, 2), components (2, d), mean (d,))``; a new vector ``x`` projects to
    ``(x - mean) @ components.T``. Signs are fixed so each axis' largest coordinate is positive."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 2:
        raise ValueError(f"X must be 2-D with at least 2 rows, got shape {X.shape}")
    F = X if fit_rows is None else X[fit_rows]
    mean = F.mean(axis=0)
    _, _, Vt = np.linalg.svd(F - mean, full_matrices=False)
    comps = Vt[:2]
    coords = (X - mean) @ comps.T
    flip = np.sign(coords[np.abs(coords).argmax(axis=0), [0, 1]])
    comps = comps * flip[:, None]
    return coords * flip, comps, mean
