"""NumPy references for notebook 09 (Part II). Filled in by the notebook's author; see its tests."""
__all__: list[str] = []
