"""Drive the embedding projector without a browser (notebook 17)."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_utils.widgets import embedding_projector as P  # noqa: E402
from course_utils.widgets.base import is_png  # noqa: E402

WORDS = ["the", "of", "king", "queen", "man", "woman", "paris", "france", "berlin", "germany", "apple", "pear",
         "red", "green", "one", "two", "three", "walk", "walked", "run", "ran"]


def _tables():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(len(WORDS), 8))
    ix = {w: i for i, w in enumerate(WORDS)}
    # make man : king = woman : queen and france : paris = germany : berlin hold exactly
    base[ix["queen"]] = base[ix["king"]] - base[ix["man"]] + base[ix["woman"]]
    base[ix["berlin"]] = base[ix["paris"]] - base[ix["france"]] + base[ix["germany"]]
    other = base @ rng.normal(size=(8, 8)) + 0.3 * rng.normal(size=base.shape)   # a second, different table
    return {"first": (WORDS, base), "second": (WORDS, other)}


@pytest.fixture
def projector():
    return P.EmbeddingProjector(_tables(), n_points=15, word="king", analogy=("man", "king", "woman"), k=4)


def test_table_lookups_match_a_brute_force():
    t = P.ProjectorTable("t", *_tables()["first"], n_points=10)
    U = t.unit
    sims = U @ U[t.index["paris"]]
    sims[t.index["paris"]] = -np.inf
    assert [j for j, _ in t.neighbours("paris", 3)] == list(np.argsort(-sims)[:3])
    assert t.words[t.analogy("man", "king", "woman", k=1)[0][0]] == "queen"
    assert t.words[t.analogy("france", "paris", "germany", k=1)[0][0]] == "berlin"
    assert t.coords["PCA"].shape == (10, 2)
    # PCA is linear: a drawn word's position equals its projection
    comps, mean = t._pca
    np.testing.assert_allclose(t.position(3, "PCA"), (U[3] - mean) @ comps.T, atol=1e-5)
    assert t.position(15, "PCA").shape == (2,)
    with pytest.raises(ValueError, match="not in the vocabulary"):
        t.neighbours("zebra")


def test_bad_tables_give_clear_errors():
    with pytest.raises(TypeError, match="non-empty dict"):
        P.EmbeddingProjector({})
    with pytest.raises(ValueError, match="len\\(words\\), dim"):
        P.EmbeddingProjector({"x": (WORDS, np.zeros((3, 4)))})
    with pytest.raises(ValueError, match="NaN"):
        P.EmbeddingProjector({"x": (WORDS, np.full((len(WORDS), 4), np.nan))})
    with pytest.raises(ValueError, match="unique"):
        P.EmbeddingProjector({"x": (["a", "a", "b"], np.eye(3))})


def test_default_state_png_and_render(projector):
    assert is_png(projector.png) and projector.state.table == "first"
    assert projector.answer == "queen"
    assert [w for w, _ in projector.neighbours][:1] and len(projector.neighbours) == 4
    assert "nearest to 'king'" in projector.status.value
    n_open = len(plt.get_fignums())
    fig = projector.render()
    assert len(fig.axes) == 1
    plt.close(fig)
    assert len(plt.get_fignums()) == n_open


def test_controls_change_the_state_and_picture(projector):
    n_open = len(plt.get_fignums())
    first = projector.png
    projector.word.value = "paris"
    assert projector.state.word == "paris" and projector.png != first and is_png(projector.png)
    assert "nearest to 'paris'" in projector.status.value
    projector.k.value = 7
    assert len(projector.neighbours) == 7
    before = projector.png
    projector.table.value = "second"
    assert projector.state.table == "second" and projector.png != before
    projector.table.value = "first"                 # toggling back reuses the kept figure
    assert len(projector._frames) == 2
    projector.preset.value = ("france", "paris", "germany")
    assert projector.state.analogy == ("france", "paris", "germany") and projector.answer == "berlin"
    assert (projector.a.value, projector.b.value, projector.c.value) == ("france", "paris", "germany")
    projector.c.value = "woman"                     # typing in the boxes
    assert projector.state.analogy == ("france", "paris", "woman") and projector.preset.value is None
    assert len(plt.get_fignums()) == n_open


def test_unknown_words_show_a_message_not_an_exception(projector):
    png = projector.png
    projector.word.value = "zebra"
    assert "not in the vocabulary" in projector.error and "not in the vocabulary" in projector.status.value
    assert projector.state.word == "king" and projector.png == png
    projector.a.value = "qqq"
    assert "qqq" in projector.error and projector.state.analogy == ("man", "king", "woman")
    projector.word.value = "two"                    # a good word clears the message
    assert projector.error == "" and projector.state.word == "two"
    with pytest.raises(ValueError, match="not in the vocabulary"):
        projector.set_word("zebra")
    with pytest.raises(ValueError, match="k must be"):
        projector.set_k(0)
    with pytest.raises(ValueError, match="table must be"):
        projector.set_table("third")


def test_tsne_layout_is_offered_when_precomputed():
    pytest.importorskip("sklearn")
    p = P.EmbeddingProjector(_tables(), n_points=20, tsne=True, word="king")
    assert p.projection.options == ("PCA", "t-SNE") or list(p.projection.options) == ["PCA", "t-SNE"]
    before = p.png
    p.projection.value = "t-SNE"
    assert p.state.projection == "t-SNE" and p.png != before and is_png(p.png)


def test_frames_after_the_first_do_not_redraw_the_cloud(projector):
    projector.word.value = "paris"
    draws = projector.frame.full_draws
    for w in ["france", "two", "walk", "paris"]:
        projector.word.value = w
    assert projector.frame.full_draws == draws
