"""NumPy references for notebook 11 (Part III). Filled in by the notebook's author; see its tests."""
__all__: list[str] = []
