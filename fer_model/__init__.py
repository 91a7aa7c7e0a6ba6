"""Facial-expression recognition (FER2013 classes) for the invigilation product.

Stands alone: imports nothing of the product (`invigilation`) or Django; what it needs from
the product comes in as arguments (a face cropper: `data.FaceCropper`). Runtime modules (data,
covpool, models, augment, checkpoint, predict) import neither training code nor experiments/.
"""

__version__ = "0.1.0"
