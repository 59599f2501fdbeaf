"""Notebook 15: recurrent cells and backpropagation through time (NumPy reference implementations)."""

__all__: list[str] = []
