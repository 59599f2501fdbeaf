"""Notebook 18: text classification baselines (bag of words, TF-IDF, logistic regression) (NumPy reference implementations)."""

__all__: list[str] = []
