"""Notebook 16: LSTM and GRU cells (NumPy reference implementations)."""

__all__: list[str] = []
