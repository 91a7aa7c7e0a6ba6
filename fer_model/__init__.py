"""Facial-expression recognition (FER2013 classes) for the invigilation product.

Importable without Django; torch is imported lazily by the submodules that need it.
"""

__version__ = "0.1.0"
