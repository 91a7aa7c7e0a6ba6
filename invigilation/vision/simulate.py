"""Simulated presentation attacks: a still photo (or phone screen) held up to the webcam."""

from __future__ import annotations

import math

import cv2
import numpy as np

from .images import resize_long_side

LONG_SIDE = 640  # as the capture page sends frames

# Peak amplitudes of the hand's motion (each a sum of two sines, so the peak is reached rarely).
MAX_SHIFT = 0.03  # translation, fraction of the frame's width / height
MAX_ROLL_DEG = 4.0  # in-plane rotation
MAX_SCALE = 0.05  # +-5 % (the hand moving towards / away from the camera)
MAX_TILT_DEG = 12.0  # out-of-plane rotation about the horizontal and the vertical axis
# Two frequencies per motion channel, in Hz: slow drift plus a faster tremor of the hand.
FREQUENCIES = (0.23, 0.71)


def _motion(t: float, phases: np.ndarray, channel: int) -> float:
    """A smooth signal in [-1, 1]: 0.6 sin(slow) + 0.4 sin(fast), phases fixed by the seed."""
    slow, fast = FREQUENCIES
    a, b = phases[channel]
    # Slightly different frequencies per channel so the channels do not move in lockstep.
    k = 1.0 + 0.13 * channel
    return 0.6 * math.sin(2 * math.pi * slow * k * t + a) + 0.4 * math.sin(
        2 * math.pi * fast * k * t + b
    )


def wobble(image_bgr: np.ndarray, t: float, seed: int = 0) -> np.ndarray:
    """The frame a webcam sees at time `t` (s) of a photo held in a slightly moving hand.

    Models a flat print or phone screen filling the camera's view, held by hand: the still
    image (first resized to a long side of 640 px; the output has that size) is warped by the
    homography of a plane rotated in 3-D and projected by a pinhole camera (focal length ~ the
    frame's width, a ~60 degree webcam): out-of-plane tilt up to ~12 degrees about each axis,
    in-plane rotation up to ~4 degrees, scale +-5 % and translation up to 3 % of the frame.
    Each motion is a sum of sines at ~0.2 and ~0.7 Hz (slow drift plus hand tremor) whose
    phases come from `seed`; the result is deterministic for (t, seed). Borders are replicated,
    so no black edge gives the attack away (a real attacker fills the view).
    """
    image = resize_long_side(image_bgr, LONG_SIDE)
    height, width = image.shape[:2]
    phases = np.random.default_rng(seed).uniform(0, 2 * math.pi, size=(6, 2))
    tilt_x = math.radians(MAX_TILT_DEG * _motion(t, phases, 0))
    tilt_y = math.radians(MAX_TILT_DEG * _motion(t, phases, 1))
    roll = math.radians(MAX_ROLL_DEG * _motion(t, phases, 2))
    scale = 1.0 + MAX_SCALE * _motion(t, phases, 3)
    shift = np.array(
        [MAX_SHIFT * width * _motion(t, phases, 4), MAX_SHIFT * height * _motion(t, phases, 5)]
    )
    homography = _plane_homography(width, height, tilt_x, tilt_y, roll, scale, shift)
    return cv2.warpPerspective(
        image,
        homography,
        (width, height),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )


def _plane_homography(
    width: int,
    height: int,
    tilt_x: float,
    tilt_y: float,
    roll: float,
    scale: float,
    shift: np.ndarray,
) -> np.ndarray:
    """Image -> frame map of the image plane rotated about its centre, at the focal distance."""
    focal = float(width)
    cx, cy = width / 2, height / 2
    corners = np.array([(0, 0), (width, 0), (width, height), (0, height)], np.float64)
    # The picture as a plane through the optical axis at depth `focal` (so it fills the view).
    plane = np.column_stack([(corners - (cx, cy)) * scale, np.zeros(4)])
    cos_x, sin_x = math.cos(tilt_x), math.sin(tilt_x)
    cos_y, sin_y = math.cos(tilt_y), math.sin(tilt_y)
    cos_z, sin_z = math.cos(roll), math.sin(roll)
    rx = np.array([[1, 0, 0], [0, cos_x, -sin_x], [0, sin_x, cos_x]])
    ry = np.array([[cos_y, 0, sin_y], [0, 1, 0], [-sin_y, 0, cos_y]])
    rz = np.array([[cos_z, -sin_z, 0], [sin_z, cos_z, 0], [0, 0, 1]])
    world = plane @ (rx @ ry @ rz).T + (0.0, 0.0, focal)
    projected = focal * world[:, :2] / world[:, 2:3] + (cx, cy) + shift
    return cv2.getPerspectiveTransform(corners.astype(np.float32), projected.astype(np.float32))
