"""The cheaper frame (issue 22): BlazeFace on frames, RGB decode, the peer benchmark, the timer."""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from invigilation.vision import bench, detect
from invigilation.vision.analyse import analyse_frame, checks_for_frame
from invigilation.vision.detect import Face, detect_faces_rgb, largest_face
from invigilation.vision.embed import embed_rgb
from invigilation.vision.images import encode_jpeg, load_image
from invigilation.vision.quality import assess_quality
from invigilation.vision.verify import enrol


def _iou(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    inter_w = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    inter_h = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = inter_w * inter_h
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / area


def test_shipped_weights_are_the_documented_file() -> None:
    readme = (detect.WEIGHTS / "README.md").read_text()
    row = r"`face_detection_short_range.tflite` \|.*\| `([0-9a-f]{64})` \|"
    documented = re.search(row, readme)
    assert documented, "weights/README.md lists the file with its sha256"
    data = (detect.WEIGHTS / "face_detection_short_range.tflite").read_bytes()
    assert hashlib.sha256(data).hexdigest() == documented.group(1)
    assert "Apache License" in (detect.WEIGHTS / "LICENSE-mediapipe").read_text()


def test_frames_use_blazeface_framed_like_dlib_hog(webcam_frame: np.ndarray) -> None:
    rgb = cv2.cvtColor(webcam_frame, cv2.COLOR_BGR2RGB)
    [face] = detect_faces_rgb(rgb)
    assert face.detector == "blazeface" and face.landmarks.shape == (5, 2)
    [(hog_box, _)] = detect.HogDetector()(rgb)
    # Mapped onto HOG's framing, so the shape predictors and the expression crop see what
    # they were made for: the two boxes overlap closely (HOG's own boxes come in coarse steps).
    assert _iou(face.box, hog_box) > 0.6
    left, top, right, bottom = face.box
    assert all(left < x < right and top < y < bottom for x, y in face.landmarks)


def test_blazeface_finds_two_faces_and_none_on_a_wall(lfw_image, lfw_pairs) -> None:
    pair = next(p for p in lfw_pairs if not p.same)
    both = np.hstack([lfw_image(pair.image_a), lfw_image(pair.image_b)])[:, :, ::-1].copy()
    found = detect.BlazeFaceDetector()(both)
    assert sorted((box[0] + box[2]) / 2 < 250 for box, _ in found) == [False, True]
    wall = np.random.default_rng(0).normal(125, 6, (480, 640, 3)).clip(0, 255).astype(np.uint8)
    assert detect.BlazeFaceDetector()(wall) == []
    assert detect_faces_rgb(wall) == []  # nor the MTCNN fallback


def test_enrolment_photos_still_use_hog(webcam_frame: np.ndarray) -> None:
    rgb = cv2.cvtColor(webcam_frame, cv2.COLOR_BGR2RGB)
    assert [f.detector for f in detect_faces_rgb(rgb, enrolment=True)] == ["hog"]


def test_largest_face_is_the_biggest_box() -> None:
    points = np.zeros((5, 2), np.float32)
    small, big = Face((0, 0, 50, 50), 0.9, points), Face((100, 100, 180, 190), 0.5, points)
    assert largest_face([small, big]) is big and largest_face([big, small]) is big
    assert largest_face([]) is None


def test_identity_frames_embed_as_before(webcam_frame: np.ndarray) -> None:
    """Landmarks are computed only on identity frames, and give the same embedding."""
    jpeg = encode_jpeg(webcam_frame)
    enrolment = enrol([jpeg])
    checked = analyse_frame(jpeg, enrolment, checks_for_frame(0, 3))
    skipped = analyse_frame(jpeg, enrolment, checks_for_frame(1, 3))
    rgb = load_image(jpeg, rgb=True)
    expected = embed_rgb(rgb, detect_faces_rgb(rgb)[0])
    np.testing.assert_array_equal(checked.faces[0].embedding, expected)
    assert skipped.faces[0].embedding is None and "embed" not in skipped.timings_ms
    assert checked.faces[0].box == skipped.faces[0].box


def test_rgb_decode_is_the_bgr_decode_flipped(webcam_frame: np.ndarray) -> None:
    jpeg = encode_jpeg(webcam_frame)
    np.testing.assert_array_equal(load_image(jpeg, rgb=True), load_image(jpeg)[:, :, ::-1])
    np.testing.assert_array_equal(load_image(webcam_frame, rgb=True), webcam_frame[:, :, ::-1])


def test_sharpness_is_the_variance_of_the_laplacian(webcam_frame: np.ndarray) -> None:
    grey = cv2.cvtColor(webcam_frame, cv2.COLOR_BGR2GRAY)
    quality = assess_quality(grey)
    assert quality.sharpness == round(float(cv2.Laplacian(grey, cv2.CV_64F).var()), 1)
    assert quality.brightness == round(float(grey.mean()), 1)


def test_bench_without_the_peer_says_how_to_install_it(monkeypatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "face_recognition" else real(name, *a),
    )
    with pytest.raises(bench.PeerUnavailable, match=r"pip install --no-deps face_recognition"):
        bench.face_recognition_peer()


def test_bench_with_the_peer_reports_a_ratio(video_path: Path) -> None:
    if importlib.util.find_spec("face_recognition") is None:
        pytest.skip(f"face_recognition not installed: {bench.PEER_INSTALL}")
    out = bench.bench(video_path, max_frames=2, warmup=1, identity_every=3, peer=True)
    assert out["frames"] == 2 and out["peer_ms"] > 0 and out["peer_match_rate"] == 1.0
    assert out["ratio"] == pytest.approx(out["total_ms"] / out["peer_ms"], abs=1e-3)
    stand_in = sys.modules.get("pkg_resources")
    assert stand_in is None or stand_in.__spec__ is not None  # the stand-in did not linger


def test_identity_landmarks_are_fitted_on_a_hog_box(webcam_frame: np.ndarray) -> None:
    rgb = cv2.cvtColor(webcam_frame, cv2.COLOR_BGR2RGB)
    [(box, score, name)] = detect.detect_boxes_rgb(rgb)
    face = detect.aligned_face(rgb, box, score, name)
    near = detect.hog_box_near(rgb, box)
    assert near is not None and face.box == near != box  # HOG's own box, not the mapped one
    np.testing.assert_array_equal(face.landmarks, detect.landmarks_5(rgb, near))


def test_the_68_point_box_moves_with_the_face(webcam_frame: np.ndarray) -> None:
    """Placed by the 5 landmarks: a frame shifted by (dx, dy) gives the same box shifted."""
    rgb = cv2.cvtColor(webcam_frame, cv2.COLOR_BGR2RGB)
    dx, dy = 13, 7
    shifted = np.ascontiguousarray(np.roll(rgb, (dy, dx), axis=(0, 1)))
    boxes = []
    for image in (rgb, shifted):
        [(box, _, name)] = detect.detect_boxes_rgb(image)
        boxes.append(np.array(detect.landmark_box(image, box, name)))
    np.testing.assert_allclose(boxes[1] - boxes[0], [dx, dy, dx, dy], atol=2)
