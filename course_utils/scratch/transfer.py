"""Notebook 13: modern CNN building blocks and transfer learning (NumPy reference implementations)."""

__all__: list[str] = []
