"""Notebook 14: boxes, IoU, non-max suppression, YOLO targets and mAP (NumPy reference implementations)."""

__all__: list[str] = []
