"""Embedding projector (notebook 17): the most frequent words of an embedding table in 2-D, the
nearest neighbours of a word (cosine) highlighted, and an analogy box ``a : b = c : ?`` answered
with ``b - a + c`` (3CosAdd); a toggle between tables (the course-trained one and the pretrained
one).

Three layers (CONVENTIONS.md, "Widgets"):

- pure functions: :class:`ProjectorTable` (a table's words, unit-norm vectors and 2-D coordinates,
  computed once: PCA from scratch, or a t-SNE precomputed with scikit-learn), its
  :meth:`~ProjectorTable.neighbours` and :meth:`~ProjectorTable.analogy` (NumPy on the normalised
  table: one matrix-vector product each);
- :func:`render` (a state -> Figure) and the kept :class:`ProjectorPicture`: the cloud of points
  and its few labels are the background (one per table and projection); each frame draws only the
  highlighted points, their labels (each word rendered once, then pasted) and the analogy arrows; the
  lists of neighbours and answers go to the status line as text;
- :class:`EmbeddingProjector`, the thin widget.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..scratch.embeddings import pca_2d, unit_rows
from .base import Explorer, TextStamp

__all__ = ["ProjectorTable", "ProjectorState", "ProjectorPicture", "render", "EmbeddingProjector",
           "PRESET_ANALOGIES", "demo_tables", "demo_projector"]

#: analogy presets offered in the dropdown (a, b, c): a is to b as c is to ?
#: at most this many highlighted words are labelled
MAX_LABELS = 24
PRESET_ANALOGIES = [("man", "king", "woman"), ("france", "paris", "germany"), ("good", "better", "bad"),
                    ("big", "bigger", "small"), ("walk", "walking", "swim"), ("england", "english", "france"),
                    ("boy", "girl", "brother"), ("mouse", "mice", "dollar")]


@dataclass
class ProjectorTable:
    """One embedding table ready for the projector.

    ``words`` (most frequent first), ``vectors`` ``(len(words), dim)``; the first ``n_points`` words
    are drawn. ``coords`` holds their 2-D positions: ``"pca"`` (from scratch, fitted on the drawn
    words; any vector projects) or ``"tsne"`` (scikit-learn, precomputed here; only the drawn words
    have a position).
    """
    name: str
    words: list
    vectors: np.ndarray
    n_points: int = 400
    tsne: bool = False
    seed: int = 0
    unit: np.ndarray = field(init=False, repr=False)
    index: dict = field(init=False, repr=False)
    coords: dict = field(init=False, repr=False)

    def __post_init__(self):
        words = [str(w) for w in self.words]
        V = np.asarray(self.vectors)
        if V.ndim != 2 or V.shape[0] != len(words) or len(words) < 3:
            raise ValueError(f"table {self.name!r}: vectors must be (len(words), dim) with >= 3 words, got "
                             f"{V.shape} for {len(words)} words")
        if not np.isfinite(V).all():
            raise ValueError(f"table {self.name!r}: vectors contain NaN or infinite values")
        if len(set(words)) != len(words):
            raise ValueError(f"table {self.name!r}: words must be unique")
        self.words = words
        self.unit = unit_rows(V)
        self.index = {w: i for i, w in enumerate(words)}
        self.n_points = int(min(max(3, self.n_points), len(words)))
        pts, comps, mean = pca_2d(self.unit[:self.n_points])
        self._pca = (comps.astype(np.float32), mean.astype(np.float32))
        self.coords = {"PCA": pts.astype(np.float32)}
        if self.tsne:
            from sklearn.manifold import TSNE
            emb = TSNE(n_components=2, metric="cosine", init="pca", perplexity=min(30.0, self.n_points / 4),
                       random_state=self.seed).fit_transform(self.unit[:self.n_points])
            self.coords["t-SNE"] = emb.astype(np.float32)

    # -- lookups ----------------------------------------------------------------------------------
    def check_word(self, word) -> int:
        if not isinstance(word, str) or not word.strip():
            raise ValueError(f"a word must be a non-empty string, got {word!r}")
        w = word.strip().lower()
        if w not in self.index:
            raise ValueError(f"{word!r} is not in the vocabulary of {self.name!r} ({len(self.words):,} words)")
        return self.index[w]

    def neighbours(self, word: str, k: int = 8):
        """``[(index, cosine), ...]``: the ``k`` nearest words (the word itself excluded)."""
        i = self.check_word(word)
        sims = self.unit @ self.unit[i]
        sims[i] = -np.inf
        top = np.argpartition(-sims, k)[:k]
        top = top[np.argsort(-sims[top], kind="stable")]
        return [(int(j), float(sims[j])) for j in top]

    def analogy(self, a: str, b: str, c: str, k: int = 3):
        """``a : b = c : ?``: the ``k`` words nearest to ``b - a + c`` (unit vectors; a, b, c
        excluded), as ``[(index, cosine), ...]``."""
        ia, ib, ic = (self.check_word(w) for w in (a, b, c))
        x = self.unit[ib] - self.unit[ia] + self.unit[ic]
        sims = self.unit @ (x / (np.linalg.norm(x) or 1.0))
        sims[[ia, ib, ic]] = -np.inf
        top = np.argpartition(-sims, k)[:k]
        top = top[np.argsort(-sims[top], kind="stable")]
        return [(int(j), float(sims[j])) for j in top]

    def position(self, i: int, projection: str):
        """2-D position of word ``i`` (None where the projection has none: t-SNE, not drawn)."""
        if i < self.n_points:
            return self.coords[projection][i]
        if projection == "PCA":
            comps, mean = self._pca
            return (self.unit[i] - mean) @ comps.T
        return None


@dataclass(frozen=True)
class ProjectorState:
    """What one picture shows."""
    table: str
    projection: str = "PCA"
    word: str = ""
    k: int = 8
    analogy: tuple = ()          # (a, b, c) or ()
    n_labels: int = 25


class ProjectorPicture:
    """The kept figure: the cloud (background, per table and projection) and the live highlights."""

    def __init__(self, fig):
        self.fig = fig
        self.live = []
        self._key = None

    def _build(self, t: ProjectorTable, projection: str, n_labels: int):
        fig = self.fig
        fig.clear()
        fig.set_size_inches(7.6, 6.0)
        ax = fig.add_axes([0.01, 0.01, 0.98, 0.92])
        pts = t.coords[projection]
        ax.scatter(pts[:, 0], pts[:, 1], s=6, color="0.72", linewidths=0)
        step = max(1, t.n_points // max(1, n_labels))   # a few labels spread over the frequency ranks
        for i in range(0, t.n_points, step)[:n_labels]:
            ax.annotate(t.words[i], pts[i], fontsize=7, color="0.45", xytext=(2, 2), textcoords="offset points")
        span = pts.max(axis=0) - pts.min(axis=0)
        lo, hi = pts.min(axis=0) - 0.08 * span, pts.max(axis=0) + 0.08 * span
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"{t.name}: the {t.n_points} most frequent words, {projection} "
                     f"({t.unit.shape[1]} dimensions → 2)", fontsize=10)
        self.ax, self.lo, self.hi = ax, lo, hi
        self.hl_nb = ax.scatter([], [], s=40, color="C1", edgecolors="k", linewidths=0.5, zorder=3)
        self.hl_q = ax.scatter([], [], s=90, marker="*", color="C3", edgecolors="k", linewidths=0.5, zorder=4)
        self.hl_an = ax.scatter([], [], s=55, marker="D", color="C2", edgecolors="k", linewidths=0.5, zorder=4)
        self.arrows = [ax.annotate("", (0, 0), (0, 0), arrowprops=dict(arrowstyle="->", color="C2", lw=1.6),
                                   zorder=5) for _ in range(2)]
        self.stamps = {}   # (word, colour, weight) -> TextStamp of a label made since the cloud was drawn
        self.live = [self.hl_nb, self.hl_q, self.hl_an, *self.arrows]

    def _inside(self, p):
        return p is not None and np.all(p >= self.lo) and np.all(p <= self.hi)

    def update(self, t: ProjectorTable, s: ProjectorState):
        key = (t.name, id(t), s.projection, s.n_labels)
        if key != self._key:
            self._build(t, s.projection, s.n_labels)
            self._key = key
        lines = []
        nb_pts, q_pts, an_pts = [], [], []

        shown = []

        def label(i, p, colour, weight="normal"):
            if len(shown) < MAX_LABELS and self._inside(p):
                key = (t.words[i], colour, weight)
                stamp = self.stamps.get(key)
                if stamp is None:   # a word always lands at the same place: render once, then paste
                    text = self.ax.annotate(t.words[i], p, xytext=(3, 3), textcoords="offset points", fontsize=9,
                                            color=colour, fontweight=weight, zorder=6)
                    stamp = self.stamps[key] = TextStamp(text)
                    self.live.append(stamp)
                shown.append(stamp)

        if s.word:
            qi = t.check_word(s.word)
            nbs = t.neighbours(s.word, s.k)
            lines.append(f"nearest to '{t.words[qi]}' (cosine)")
            for j, cos in nbs:
                lines.append(f"  {t.words[j]:<14.14s} {cos:+.3f}")
                p = t.position(j, s.projection)
                if self._inside(p):
                    nb_pts.append(p)
                    label(j, p, "C1")
            p = t.position(qi, s.projection)
            if self._inside(p):
                q_pts.append(p)
                label(qi, p, "C3", "bold")
            hidden = sum(not self._inside(t.position(j, s.projection)) for j, _ in nbs)
            if hidden:
                lines.append(f"  ({hidden} not in the picture)")
        for arrow in self.arrows:
            arrow.set_visible(False)
        if s.analogy:
            a, b, c = s.analogy
            ia, ib, ic = (t.check_word(w) for w in (a, b, c))
            ans = t.analogy(a, b, c, k=3)
            lines += ["", f"{t.words[ia]} : {t.words[ib]} = {t.words[ic]} : ?", "  b - a + c nearest (cosine):"]
            lines += [f"  {t.words[j]:<14.14s} {cos:+.3f}" for j, cos in ans]
            ids = [ia, ib, ic, ans[0][0]]
            pos = [t.position(i, s.projection) for i in ids]
            for i, p in zip(ids, pos):
                if self._inside(p):
                    an_pts.append(p)
                    label(i, p, "C2", "bold")
            for arrow, (u, v) in zip(self.arrows, ((0, 1), (2, 3))):
                if self._inside(pos[u]) and self._inside(pos[v]):
                    arrow.xy, arrow.xyann = tuple(pos[v]), tuple(pos[u])
                    arrow.set_visible(True)
        on = {id(st) for st in shown}
        for st in self.stamps.values():
            st.text.set_visible(id(st) in on)
        for sc, pts in ((self.hl_nb, nb_pts), (self.hl_q, q_pts), (self.hl_an, an_pts)):
            sc.set_offsets(np.asarray(pts, dtype=float).reshape(-1, 2))
        self.lines = lines
        return key


def render(table: ProjectorTable, state: ProjectorState):
    """A full Figure of one state (for notebooks and tests)."""
    import matplotlib.pyplot as plt
    fig = plt.figure(dpi=80)
    ProjectorPicture(fig).update(table, state)
    return fig


class EmbeddingProjector(Explorer):
    """The most frequent words of each table in 2-D, a word's nearest neighbours and an analogy box.

    Parameters
    ----------
    tables : dict ``{name: (words, vectors)}``
        Words most frequent first, vectors ``(len(words), dim)``; all tables should share the word
        list (then toggling compares the same words), but need not.
    n_points : int
        How many of the most frequent words to draw (all words are searched).
    tsne : bool
        Also precompute a t-SNE layout (scikit-learn, a few seconds per table) to toggle to.
    word, analogy : the initial query word and ``(a, b, c)``.
    """

    def __init__(self, tables: dict, n_points: int = 400, tsne: bool = False, word: str = "king",
                 analogy=("man", "king", "woman"), k: int = 8, n_labels: int = 25, seed: int = 0):
        if not isinstance(tables, dict) or not tables:
            raise TypeError("tables must be a non-empty dict {name: (words, vectors)}")
        self.tables = {name: ProjectorTable(name, *wv, n_points=n_points, tsne=tsne, seed=seed)
                       for name, wv in tables.items()}
        first = next(iter(self.tables.values()))
        if not 1 <= k <= 20:
            raise ValueError(f"k must be in 1..20, got {k}")
        word = word if word in first.index else first.words[min(50, len(first.words) - 1)]
        analogy = tuple(analogy) if analogy and all(w in first.index for w in analogy) else ()
        self.state = ProjectorState(first.name, "PCA", word, k, analogy, n_labels)
        self.picture = None
        self._frames = {}
        self.error = ""
        self._syncing = False
        super().__init__()

    # -- controls -----------------------------------------------------------------------------
    def _build_controls(self):
        W = self._W
        first = self.tables[self.state.table]
        self.table = W.ToggleButtons(options=list(self.tables), value=self.state.table, description="table")
        projections = list(first.coords)
        self.projection = W.ToggleButtons(options=projections, value="PCA", description="layout",
                                          disabled=len(projections) == 1)
        self.word = W.Combobox(value=self.state.word, options=first.words[:300], description="word",
                               continuous_update=False, ensure_option=False, placeholder="type a word, Enter")
        self.k = W.IntSlider(value=self.state.k, min=1, max=20, description="neighbours", continuous_update=False)
        a, b, c = self.state.analogy or ("", "", "")
        box = dict(continuous_update=False, layout=W.Layout(width="150px"))
        self.a = W.Text(value=a, description="a", **box)
        self.b = W.Text(value=b, description="is to b", **box)
        self.c = W.Text(value=c, description="as c", **box)
        options = [("(your own)", None)] + [(f"{p[0]} : {p[1]} = {p[2]} : ?", p) for p in PRESET_ANALOGIES
                                            if all(w in first.index for w in p)]   # those this vocabulary has
        self.preset = W.Dropdown(options=options, value=None, description="analogy")
        self.table.observe(lambda ch: self.set_table(ch["new"]), names="value")
        self.projection.observe(lambda ch: self.set_projection(ch["new"]), names="value")
        self.word.observe(lambda ch: self._guard(self.set_word, ch["new"]), names="value")
        self.k.observe(lambda ch: self.set_k(ch["new"]), names="value")
        for w in (self.a, self.b, self.c):
            w.observe(self._on_abc, names="value")
        self.preset.observe(self._on_preset, names="value")
        self.controls = [W.HBox([self.table, self.projection]), W.HBox([self.word, self.k]),
                         W.HBox([self.preset]), W.HBox([self.a, self.b, self.c])]

    def _guard(self, fn, *args):
        """Run a callback; a bad word shows its message in the status line instead of raising."""
        if self._syncing:
            return
        try:
            fn(*args)
        except ValueError as exc:
            self.error = str(exc)
            self.status.value = f"<span style='color:#b00'>{exc}</span>"

    def _on_abc(self, _change):
        if self._syncing:
            return
        abc = (self.a.value, self.b.value, self.c.value)
        if all(v.strip() for v in abc):
            self._guard(self.set_analogy, *abc)

    def _on_preset(self, change):
        if change["new"] is not None and not self._syncing:
            self._guard(self.set_analogy, *change["new"])

    # -- actions ------------------------------------------------------------------------------
    def _replace(self, **kw):
        from dataclasses import replace
        self.state = replace(self.state, **kw)
        self.error = ""
        self.refresh()

    @property
    def current(self) -> ProjectorTable:
        return self.tables[self.state.table]

    def set_table(self, name: str):
        if name not in self.tables:
            raise ValueError(f"table must be one of {list(self.tables)}, got {name!r}")
        t = self.tables[name]
        word = self.state.word if self.state.word in t.index else t.words[0]
        analogy = self.state.analogy if all(w in t.index for w in self.state.analogy) else ()
        projection = self.state.projection if self.state.projection in t.coords else "PCA"
        self._replace(table=name, word=word, analogy=analogy, projection=projection)
        self._sync()

    def set_projection(self, projection: str):
        if projection not in self.current.coords:
            raise ValueError(f"projection must be one of {list(self.current.coords)}, got {projection!r}")
        self._replace(projection=projection)

    def set_word(self, word: str):
        i = self.current.check_word(word)
        self._replace(word=self.current.words[i])
        self._sync()

    def set_k(self, k: int):
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= 20:
            raise ValueError(f"k must be an int in 1..20, got {k!r}")
        self._replace(k=int(k))

    def set_analogy(self, a: str, b: str, c: str):
        """``a : b = c : ?`` (each must be in the current table's vocabulary)."""
        t = self.current
        words = tuple(t.words[t.check_word(w)] for w in (a, b, c))
        self._replace(analogy=words)
        self._sync()

    def _sync(self):
        self._syncing = True
        try:
            t = self.current
            self.table.value = self.state.table
            self.projection.options = list(t.coords)
            self.projection.value = self.state.projection
            self.word.value = self.state.word
            a, b, c = self.state.analogy or ("", "", "")
            self.a.value, self.b.value, self.c.value = a, b, c
            if self.preset.value is not None and tuple(self.preset.value) != tuple(self.state.analogy):
                self.preset.value = None
        finally:
            self._syncing = False

    # -- results and drawing ------------------------------------------------------------------
    @property
    def neighbours(self):
        """The current word's neighbours ``[(word, cosine), ...]``."""
        t = self.current
        return [(t.words[j], c) for j, c in t.neighbours(self.state.word, self.state.k)]

    @property
    def answer(self):
        """The current analogy's best answer (a word), or None."""
        if not self.state.analogy:
            return None
        t = self.current
        return t.words[t.analogy(*self.state.analogy, k=1)[0][0]]

    def render(self):
        return render(self.current, self.state)

    def render_png(self):
        import html
        from matplotlib.figure import Figure
        from .base import Frame
        key = (self.state.table, self.state.projection)
        if key not in self._frames:   # one kept figure per table and layout: toggling back is fast
            fig = Figure()
            self._frames[key] = (Frame(fig, self.dpi), ProjectorPicture(fig))
        self.frame, self.picture = self._frames[key]
        png = self.frame.png(self.picture.live, self.picture.update(self.current, self.state))
        if not self.error:
            self.status.value = ("<pre style='font-size:12px;line-height:1.25'>"
                                 + html.escape("\n".join(self.picture.lines), quote=False) + "</pre>")
        return png


def demo_tables(n_words: int = 3000, dim: int = 50, seed: int = 0) -> dict:
    """Two small tables on the same words of the bundled Wikipedia text, for tests and the frame-time
    benchmark (a few seconds, no Keras): count-based vectors (PPMI + SVD, from scratch) and the
    pretrained MiniLM token table restricted to the same words."""
    from collections import Counter
    from .. import data
    from ..scratch.embeddings import ppmi_svd_vectors
    texts = data.load("wiki_text", verbose=False).X
    counts = Counter(w for t in texts for w in t.split())
    words = [w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))][:n_words]
    try:
        m = data.load("minilm_token_embeddings", source="bundled", verbose=False)
        mid = {w: i for i, w in enumerate(m.target_names)}
        words = [w for w in words if w in mid]
    except FileNotFoundError:
        m = None
    index = {w: i for i, w in enumerate(words)}
    ids, docs = [], []
    for d, t in enumerate(texts):
        k = [index[w] for w in t.split() if w in index]
        ids += k
        docs += [d] * len(k)
    vecs = ppmi_svd_vectors(np.array(ids), np.array(docs), len(words), window=4, dim=dim)
    tables = {"count-based (PPMI+SVD)": (words, vecs)}
    if m is not None:
        tables["pretrained MiniLM"] = (words, m.X[[mid[w] for w in words]])
    return tables


def demo_projector(**kwargs):
    """A projector on :func:`demo_tables` (for ``make bench-widgets`` and tests)."""
    return EmbeddingProjector(demo_tables(), **kwargs)
