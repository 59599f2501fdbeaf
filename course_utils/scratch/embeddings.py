"""Notebook 17: tokenization, TF-IDF, skip-gram and word-vector analogies (NumPy reference implementations)."""

__all__: list[str] = []
