"""One room frame's faces against its students (decisions.assignment), alone: no Django, no
database. Optimality is checked against brute force over every reading of small matrices."""

import itertools
import math
import random

import pytest

from invigilation.decisions import identity
from invigilation.decisions.assignment import assign, assign_columns


def cost_of(distances, threshold, reading, forced=None, reach=None):
    """A reading's total: each face's distance to its student, `threshold` for nobody; inf
    where a pair is not allowed (at or past the threshold; the `forced` face: must be someone,
    up to `reach`)."""
    total = 0.0
    for face, student in enumerate(reading):
        if face == forced:
            if student is None or distances[face][student] >= reach:
                return math.inf
            total += distances[face][student]
        elif student is None:
            total += threshold
        elif distances[face][student] < threshold:
            total += distances[face][student]
        else:
            return math.inf
    return total


def readings(faces: int, students: int):
    """Every one-to-one reading of the faces as students or nobody."""
    return set(itertools.permutations([*range(students), *[None] * faces], faces))


def total(matches, threshold):
    return sum(threshold if m.candidate is None else m.distance for m in matches)


def random_matrix(rng, faces, students):
    return [[round(rng.random(), 2) for _ in range(students)] for _ in range(faces)]


def test_without_a_threshold_it_is_the_classic_assignment_both_ways():
    """A threshold past every distance: as many pairs as the smaller side, least total, the
    same as the best of all permutations, for tall, wide and square matrices."""
    rng = random.Random(1)
    for faces, students in [(3, 5), (5, 3), (4, 4), (1, 6), (6, 1)] * 8:
        distances = random_matrix(rng, faces, students)
        if faces <= students:
            best = min(
                sum(distances[i][j] for i, j in enumerate(p))
                for p in itertools.permutations(range(students), faces)
            )
        else:
            best = min(
                sum(distances[i][j] for j, i in enumerate(p))
                for p in itertools.permutations(range(faces), students)
            )
        columns = assign_columns(distances, threshold=10.0, margin=0.0)
        pairs = [(i, j) for i, j in enumerate(columns) if j is not None]
        assert len(pairs) == min(faces, students)
        assert len({j for _, j in pairs}) == len(pairs)
        assert sum(distances[i][j] for i, j in pairs) == pytest.approx(best)


def test_open_set_reading_is_the_least_total_over_every_reading():
    rng = random.Random(2)
    for _ in range(150):
        faces, students = rng.randint(1, 4), rng.randint(1, 4)
        distances = random_matrix(rng, faces, students)
        threshold = rng.choice([0.3, 0.5, 0.7])
        matches = assign(distances, threshold, margin=0.0)
        brute = min(cost_of(distances, threshold, r) for r in readings(faces, students))
        assert total(matches, threshold) == pytest.approx(brute)
        named = [m.candidate for m in matches if m.candidate is not None]
        assert len(set(named)) == len(named)
        assert all(m.distance < threshold for m in matches if m.candidate is not None)


def test_each_face_margin_is_what_the_frame_loses_were_it_anyone_else():
    """The margin, brute-forced: the best reading in which the face is another student (up to
    threshold + margin), less the best reading."""
    rng = random.Random(3)
    checked = 0
    for _ in range(150):
        faces, students = rng.randint(1, 4), rng.randint(1, 4)
        distances = random_matrix(rng, faces, students)
        threshold, margin = rng.choice([0.5, 0.7]), rng.choice([0.05, 0.2])
        matches = assign(distances, threshold, margin)
        everything = readings(faces, students)
        best = min(cost_of(distances, threshold, r) for r in everything)
        for face, match in enumerate(matches):
            if match.candidate is None:
                continue
            others = [r for r in everything if r[face] != match.candidate]
            reach = threshold + margin
            alternative = min(cost_of(distances, threshold, r, face, reach) for r in others)
            assert match.margin == pytest.approx(alternative - best)
            assert match.ambiguous == (alternative - best < margin - 1e-9)
            checked += 1
    assert checked > 100


def test_a_stranger_is_nobody_and_keeps_the_distance_to_the_nearest():
    matches = assign([[0.30, 0.80], [0.75, 0.70]], threshold=0.6)
    assert [m.column for m in matches] == [0, None]
    assert matches[1].distance == 0.70
    assert matches[1].margin is None and not matches[1].ambiguous


def test_a_stranger_cannot_push_a_student_off_their_own_face():
    """Assigning everyone, then dropping far pairs, would read x's face as y here."""
    distances = [[0.30, 0.35], [0.70, 0.90]]  # x's face; a stranger
    assert assign_columns(distances, threshold=0.6, margin=0.0) == [0, None]


def test_no_pair_at_the_threshold():
    assert assign_columns([[0.6]], threshold=0.6, margin=0.0) == [None]


def test_a_lone_face_is_judged_like_roster_match():
    """One face in the frame: identified exactly when `identity.roster_match` would name the
    student (nearest within the threshold, runner-up at least the margin further)."""
    rng = random.Random(4)
    for _ in range(300):
        row = [rng.uniform(0.3, 0.8) for _ in range(rng.randint(1, 5))]
        column = assign_columns([row], identity.PHOTO_THRESHOLD, identity.ROSTER_MARGIN)[0]
        named = identity.roster_match(dict(enumerate(row)), own_distance=math.inf)
        assert column == named


def test_the_frame_settles_a_face_that_resembles_two_students():
    """Face A is near x and y alike, which alone would be ambiguous; but face B is clearly y,
    so A is x."""
    distances = [[0.40, 0.42], [0.80, 0.30]]
    assert identity.roster_match({"x": 0.40, "y": 0.42}, own_distance=math.inf) is None
    matches = assign(distances, threshold=0.6, margin=0.05)
    assert [m.column for m in matches] == [0, 1]
    assert matches[0].margin == pytest.approx(0.42 + 0.6 - (0.40 + 0.30))


def test_ties_read_one_to_one_and_the_same_every_time():
    distances = [[0.4, 0.4], [0.4, 0.4]]
    first = assign_columns(distances, threshold=0.6, margin=0.0)
    assert sorted(first) == [0, 1]
    assert all(assign_columns(distances, 0.6, 0.0) == first for _ in range(5))


def test_twins_within_the_margin_are_ambiguous_not_strangers():
    matches = assign([[0.40, 0.41], [0.41, 0.40]], threshold=0.6, margin=0.05)
    assert [m.column for m in matches] == [None, None]
    assert [m.candidate for m in matches] == [0, 1]
    assert all(m.ambiguous and m.margin == pytest.approx(0.02) for m in matches)


def test_a_face_with_no_one_else_within_reach_has_an_infinite_margin():
    matches = assign([[0.35, 0.90, 0.95]], threshold=0.6, margin=0.05)
    assert matches[0].column == 0 and matches[0].margin == math.inf


def test_empty_frames_and_empty_rooms():
    assert assign([], threshold=0.6) == []
    matches = assign([[], []], threshold=0.6)
    assert [(m.column, m.distance) for m in matches] == [(None, math.inf)] * 2


@pytest.mark.parametrize(
    "distances, threshold",
    [([[0.1, 0.2], [0.3]], 0.6), ([[float("nan")]], 0.6), ([[-0.1]], 0.6), ([[0.1]], math.inf)],
)
def test_bad_input_is_refused(distances, threshold):
    with pytest.raises(ValueError):
        assign(distances, threshold)
