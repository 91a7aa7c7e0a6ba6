"""The face cropper fer_model uses to evaluate image-folder datasets such as JAFFE."""

import cv2
import numpy as np

from invigilation.vision.expression import fer_face_crop


def test_the_face_of_a_webcam_frame_is_cropped_square(webcam_frame: np.ndarray) -> None:
    grey = cv2.cvtColor(webcam_frame, cv2.COLOR_BGR2GRAY)
    crop = fer_face_crop(grey)
    assert crop is not None and crop.ndim == 2
    assert crop.shape[0] == crop.shape[1] and 150 < crop.shape[0] < max(grey.shape)


def test_no_face_gives_none() -> None:
    assert fer_face_crop(np.full((256, 256), 128, np.uint8)) is None
