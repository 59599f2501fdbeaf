"""NumPy references for notebook 07 (Part II). Filled in by the notebook's author; see its tests."""
__all__: list[str] = []
