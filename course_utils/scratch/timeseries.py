"""Notebook 19: windowing, forecasting baselines and anomaly thresholds (NumPy reference implementations)."""

__all__: list[str] = []
