"""The word-embedding references of notebook 17 (cu.scratch.embeddings), against Keras where Keras has
the same thing (TextVectorization, Embedding, GradientTape) and against hand-worked examples."""
import string

import numpy as np
import pytest

from course_utils.scratch import embeddings as E

TEXTS = ["The cat sat on the mat.", "The dog ate my homework!", "A cat, a dog: friends?",
         "Don't feed the cat-dog hybrid", "zebra apple apple zebra", ""]
NEW = ["the cat ate a zebra; unknownword cat", "ZZZ", "", "apple. APPLE, apple!"]


def test_punctuation_is_keras_set_and_string_punctuation():
    assert set(E.TEXTVEC_PUNCTUATION) == set(string.punctuation) and len(E.TEXTVEC_PUNCTUATION) == 32
    assert E.textvec_standardize("Don't STOP-me, Ünïcode!") == "dont stopme Ünïcode"
    with pytest.raises(TypeError, match="str"):
        E.textvec_standardize(3)


@pytest.mark.parametrize("mode", ["int", "multi_hot", "count", "tf_idf"])
def test_textvectorization_modes_equal_keras(mode):
    keras = pytest.importorskip("keras")
    tv = keras.layers.TextVectorization(output_mode=mode)
    tv.adapt(TEXTS)
    vocab = E.textvec_vocabulary(TEXTS, output_mode=mode)
    assert tv.get_vocabulary() == vocab                # incl. ties sorted in descending order
    got = np.asarray(tv(NEW))
    idf = E.keras_idf_weights(TEXTS, vocab) if mode == "tf_idf" else None
    ref = E.textvec_encode(NEW, vocab, mode, idf_weights=idf, sequence_length=got.shape[1] if mode == "int" else None)
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-6)
    if mode == "tf_idf":
        np.testing.assert_allclose(got, E.tfidf_matrix(NEW, vocab, fit_texts=TEXTS), rtol=1e-6, atol=1e-6)


def test_max_tokens_and_sequence_length_equal_keras():
    keras = pytest.importorskip("keras")
    tv = keras.layers.TextVectorization(max_tokens=6, output_sequence_length=4)
    tv.adapt(TEXTS)
    vocab = E.textvec_vocabulary(TEXTS, max_tokens=6)
    assert tv.get_vocabulary() == vocab and len(vocab) == 6
    np.testing.assert_array_equal(np.asarray(tv(TEXTS)), E.textvec_encode(TEXTS, vocab, sequence_length=4))
    with pytest.raises(ValueError, match="max_tokens"):
        E.textvec_vocabulary(TEXTS, max_tokens=2)
    with pytest.raises(ValueError, match="output_mode"):
        E.textvec_vocabulary(TEXTS, output_mode="one_hot")
    with pytest.raises(ValueError, match="idf_weights"):
        E.textvec_encode(TEXTS, E.textvec_vocabulary(TEXTS, output_mode="tf_idf"), "tf_idf")
    with pytest.raises(TypeError, match="list of strings"):
        E.textvec_vocabulary("one string")


def test_idf_formula_by_hand():
    texts = ["a b", "a", "c"]
    vocab = E.textvec_vocabulary(texts, output_mode="tf_idf")     # [UNK], a, c, b (ties descending)
    assert vocab == ["[UNK]", "a", "c", "b"]
    idf = E.keras_idf_weights(texts, vocab)
    want = np.log(1 + 3 / (1 + np.array([2, 1, 1])))
    np.testing.assert_allclose(idf, np.concatenate([[want.mean()], want]))


def test_one_hot_and_embedding_lookup():
    oh = E.one_hot_rows(np.array([2, 0, 2]), 4)
    np.testing.assert_array_equal(oh, np.eye(4)[[2, 0, 2]])
    W = np.arange(12.0).reshape(4, 3)
    np.testing.assert_array_equal(oh @ W, W[[2, 0, 2]])
    with pytest.raises(ValueError, match="lie in"):
        E.one_hot_rows(np.array([4]), 4)
    with pytest.raises(ValueError, match="integer"):
        E.one_hot_rows(np.array([0.5]), 4)


def test_subsampling_and_noise():
    counts = np.array([1e6, 1e4, 10.0])
    keep = E.subsample_keep_prob(counts, t=1e-4)
    f = counts / counts.sum()
    np.testing.assert_allclose(keep[:2], np.minimum(1, np.sqrt(1e-4 / f[:2]) + 1e-4 / f[:2]))
    assert keep[2] == 1.0 and keep[0] < 0.02
    p = E.noise_distribution(counts)
    assert np.isclose(p.sum(), 1) and p[2] > f[2] and p[0] < f[0]
    np.testing.assert_allclose(E.noise_distribution(counts, power=1.0), f)
    with pytest.raises(ValueError, match="counts"):
        E.noise_distribution([-1, 2])


def test_skipgram_pairs_by_hand_and_across_documents():
    t, c = E.skipgram_pairs(np.array([10, 11, 12, 13]), 1)
    assert list(zip(t.tolist(), c.tolist())) == [(10, 11), (11, 10), (11, 12), (12, 11), (12, 13), (13, 12)]
    t, c = E.skipgram_pairs(np.array([0, 1, 2, 3, 4]), 2)
    by_hand = [(0, 1), (0, 2), (1, 0), (1, 2), (1, 3), (2, 0), (2, 1), (2, 3), (2, 4), (3, 1), (3, 2), (3, 4),
               (4, 2), (4, 3)]
    assert list(zip(t.tolist(), c.tolist())) == by_hand
    t, c = E.skipgram_pairs(np.array([0, 1, 2, 3, 4]), 2, doc_ids=np.array([0, 0, 0, 1, 1]))
    assert len(t) == 8 and all((a < 3) == (b < 3) for a, b in zip(t, c))
    t, _ = E.skipgram_pairs(np.array([7]), 3)
    assert len(t) == 0
    with pytest.raises(ValueError, match="doc_ids"):
        E.skipgram_pairs(np.arange(4), 1, doc_ids=np.zeros(3))


def test_sgns_examples_shapes_and_noise_frequencies():
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 50, 20_000)
    counts = np.bincount(ids, minlength=50).astype(float)
    tg, cx, lab = E.sgns_examples(ids, np.zeros_like(ids), counts, window=2, negatives=4, t=1.0, rng=0)
    assert len(tg) == 4 * len(ids) - 6 and cx.shape == (len(tg), 5) and lab.shape == cx.shape
    assert tg.dtype == np.int32 and lab[:, 0].all() and not lab[:, 1:].any()
    drawn = np.bincount(cx[:, 1:].ravel(), minlength=50) / cx[:, 1:].size
    np.testing.assert_allclose(drawn, E.noise_distribution(counts), atol=3e-3)
    half, _, _ = E.sgns_examples(ids, np.zeros_like(ids), counts, window=2, negatives=0, t=1.0, rng=0, fraction=0.5)
    assert len(half) == round(len(tg) / 2)
    with pytest.raises(ValueError, match="negatives"):
        E.sgns_examples(ids, np.zeros_like(ids), counts, negatives=-1)


def test_sgns_gradients_equal_gradient_tape():
    tf = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(1)
    for scale in (0.1, 1.0, 30.0):
        v, U, y = rng.normal(size=6) * scale, rng.normal(size=(4, 6)) * scale, np.array([1.0, 0, 0, 1])
        a, b = tf.Variable(v), tf.Variable(U)
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(y, tf.linalg.matvec(b, a)))
        ga, gb = tape.gradient(loss, [a, b])
        got = E.sgns_loss_grads(v, U, y)
        np.testing.assert_allclose(got[0], float(loss), rtol=1e-7)
        np.testing.assert_allclose(got[1], ga.numpy(), rtol=1e-6, atol=1e-12)
        np.testing.assert_allclose(got[2], gb.numpy(), rtol=1e-6, atol=1e-12)
    with pytest.raises(ValueError, match="need v"):
        E.sgns_loss_grads(np.zeros(3), np.zeros((2, 4)), np.zeros(2))


def _toy():
    # a tiny table where the analogy man : king = woman : queen holds exactly
    words = ["man", "king", "woman", "queen", "apple", "car"]
    V = np.array([[1, 0, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0], [0, 1, 1, 0], [0, 0, 0, 1], [0.2, 0, 0, 1]], float)
    return words, E.unit_rows(V)


def test_unit_rows_and_nearest_words():
    words, U = _toy()
    assert np.allclose(np.linalg.norm(U, axis=1), 1)
    assert np.array_equal(E.unit_rows(np.zeros((2, 3))), np.zeros((2, 3)))
    nn = E.nearest_words(U, words, "apple", k=2)
    assert nn[0][0] == "car" and len(nn) == 2 and nn[0][1] > nn[1][1]
    assert E.nearest_words(U, words, U[1], k=1)[0][0] == "king"      # a vector query keeps the word itself
    with pytest.raises(KeyError, match="not in the vocabulary"):
        E.nearest_words(U, words, "pear")


def test_analogies_exclude_question_words_and_accuracy():
    words, U = _toy()
    q = np.array([[0, 1, 2, 3]])
    assert E.analogy_3cosadd(U, q)[0] == 3 and E.analogy_3cosmul(U, q)[0] == 3
    # without exclusion the answer would be b = king: check that a, b, c are never answered
    rng = np.random.default_rng(0)
    Ur = E.unit_rows(rng.normal(size=(50, 8)))
    qs = rng.integers(0, 50, (200, 3))
    for f in (E.analogy_3cosadd, E.analogy_3cosmul):
        pred = f(Ur, qs, batch=64) if f is E.analogy_3cosadd else f(Ur, qs, batch=64)
        assert not np.any(pred[:, None] == qs)
    # brute force 3CosMul on one question
    a, b, c = qs[0]
    cos = Ur @ Ur.T
    s = (cos[b] + 1) / 2 * (cos[c] + 1) / 2 / ((cos[a] + 1) / 2 + 1e-3)
    s[[a, b, c]] = -np.inf
    assert E.analogy_3cosmul(Ur, qs[:1])[0] == s.argmax()
    questions = np.array([["man", "king", "woman", "queen"], ["man", "king", "woman", "pear"],
                          ["car", "apple", "man", "woman"]], dtype=object)
    r = E.analogy_accuracy(U, words, questions, sections=[0, 0, 1])
    assert r["n"] == 2 and np.isclose(r["coverage"], 2 / 3) and r["predicted"][0] == "queen"
    assert r["by_section"][0] == (1.0, 1)
    with pytest.raises(ValueError, match="method"):
        E.analogy_accuracy(U, words, questions, method="sub")
    with pytest.raises(ValueError, match="shape"):
        E.analogy_accuracy(U, words, questions[:, :3])


def test_ppmi_svd_separates_two_topics():
    rng = np.random.default_rng(0)
    # two "topics": words 0-9 co-occur with each other, words 10-19 with each other
    ids = np.concatenate([rng.integers(0, 10, 3000), rng.integers(10, 20, 3000)])
    docs = np.repeat([0, 1], 3000)
    V = E.unit_rows(E.ppmi_svd_vectors(ids, docs, 20, window=2, dim=4))
    sims = V @ V.T
    same = sims[:10, :10][~np.eye(10, dtype=bool)].mean()
    other = sims[:10, 10:].mean()
    assert V.shape == (20, 4) and same > other + 0.5


def test_pca_2d_from_scratch():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5)) * np.array([5, 2, 0.5, 0.1, 0.1])
    coords, comps, mean = E.pca_2d(X)
    assert coords.shape == (200, 2) and comps.shape == (2, 5)
    np.testing.assert_allclose(np.abs(comps[0]), [1, 0, 0, 0, 0], atol=0.05)
    np.testing.assert_allclose(coords, (X - mean) @ comps.T)
    assert coords[:, 0].var() > coords[:, 1].var()
    sk = pytest.importorskip("sklearn.decomposition").PCA(2).fit_transform(X)
    np.testing.assert_allclose(np.abs(coords), np.abs(sk), atol=1e-8)
    with pytest.raises(ValueError, match="2-D"):
        E.pca_2d(np.zeros(5))


def test_randomized_svd_matches_the_exact_svd():
    sp = pytest.importorskip("scipy.sparse")
    rng = np.random.default_rng(0)
    # a decaying spectrum: 300 x 200, singular values 0.9 ** i
    Ua, _ = np.linalg.qr(rng.normal(size=(300, 200)))
    Va, _ = np.linalg.qr(rng.normal(size=(200, 200)))
    A = (Ua * 0.9 ** np.arange(200)) @ Va.T
    U, S, Vt = E.randomized_svd(A, 10, n_iter=4)
    U0, S0, Vt0 = np.linalg.svd(A)
    assert U.shape == (300, 10) and S.shape == (10,) and Vt.shape == (10, 200)
    assert np.all(np.diff(S) <= 0)
    np.testing.assert_allclose(S, S0[:10], rtol=1e-6)
    np.testing.assert_allclose(np.abs(np.sum(U * U0[:, :10], axis=0)), 1, atol=1e-6)   # same vectors up to sign
    np.testing.assert_allclose((U * S) @ Vt, (U0[:, :10] * S0[:10]) @ Vt0[:10], atol=1e-6)
    # sparse float32 input stays float32; a flat spectrum (the hard case): more power iterations, closer values
    M = sp.random(400, 300, density=0.05, random_state=1, format="csr", dtype=np.float32)
    exact = np.linalg.svd(M.toarray(), compute_uv=False)[:20]
    errs = [np.abs(E.randomized_svd(M, 20, n_iter=it)[1] - exact).max() for it in (0, 2, 7, 20)]
    assert E.randomized_svd(M, 20)[0].dtype == np.float32
    assert errs[0] > errs[1] > errs[2] > errs[3] and errs[2] < 0.01 * exact[0] and errs[3] < 0.001 * exact[0]
    with pytest.raises(ValueError, match="k must be at most"):
        E.randomized_svd(A, 201)
    with pytest.raises(ValueError, match="n_iter"):
        E.randomized_svd(A, 5, n_iter=-1)


def test_ppmi_svd_randomized_agrees_with_exact_lanczos():
    rng = np.random.default_rng(2)
    ids = np.concatenate([rng.integers(0, 30, 4000), rng.integers(20, 60, 4000)])
    docs = np.repeat([0, 1], 4000)
    fast = E.ppmi_svd_vectors(ids, docs, 60, window=3, dim=5)
    exact = E.ppmi_svd_vectors(ids, docs, 60, window=3, dim=5, n_iter=None)
    assert fast.shape == exact.shape == (60, 5) and fast.dtype == np.float32
    # the same word-word similarities (the vectors themselves are defined up to sign and rotation)
    np.testing.assert_allclose(fast @ fast.T, exact @ exact.T, atol=2e-3 * np.abs(exact @ exact.T).max())
