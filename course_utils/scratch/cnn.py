"""NumPy references for notebook 12 (Part III). Filled in by the notebook's author; see its tests."""
__all__: list[str] = []
