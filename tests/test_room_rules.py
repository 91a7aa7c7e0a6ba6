"""The room rules alone (decisions.room), on synthetic hall-camera readings: no Django, no
database. A hall of students at their seats, every 5 s, with the odd face unreadable."""

import json

from invigilation.decisions.room import RoomFace, RoomFrame, RoomRules, RoomSettings

T0 = 1_700_000_000.0
SEATS = {"ana": "A1", "ben": "A2", "cy": "A3"}
ROSTER = {"ana", "ben", "cy", "dee"}
BOXES = {"A1": (100, 100, 140, 150), "A2": (300, 100, 340, 150), "A3": (500, 100, 540, 150),
         "A4": (700, 100, 740, 150), "B1": (100, 300, 140, 350)}  # fmt: skip


def at_seat(student: str | None, seat: str, **changes) -> RoomFace:
    reading = {"student": student, "distance": 0.35 if student else 0.8}
    return RoomFace(box=BOXES[seat], seat=seat, **{**reading, **changes})


def stranger(seat: str = "A4", shift: float = 0.0) -> RoomFace:
    left, top, right, bottom = BOXES[seat]
    return RoomFace((left + shift, top, right + shift, bottom), seat=seat, distance=0.74)


def honest(second: float) -> list[RoomFace]:
    """Everyone at their seat; every fourth frame one face too turned to be read."""
    faces = [at_seat(student, seat) for student, seat in SEATS.items()]
    if int(second / 5) % 4 == 0:
        turned = faces[int(second / 20) % 3]
        faces[int(second / 20) % 3] = RoomFace(turned.box, turned.seat)
    return faces


def run(rules, frames, checked_in=SEATS, roster=ROSTER) -> list:
    return [event for frame in frames for event in rules.observe(frame, checked_in, roster)]


def frames(seconds, faces, camera="front"):
    return [RoomFrame(T0 + t, camera, tuple(faces(t))) for t in seconds]


def kinds(events):
    return [(e.kind, e.student, e.at - T0) for e in events]


def test_an_honest_room_raises_nothing_over_an_hour():
    assert run(RoomRules(RoomSettings()), frames(range(0, 3600, 5), honest)) == []


def test_an_unknown_person_at_one_place_is_flagged_once():
    rules = RoomRules(RoomSettings(unknown_frames=3))
    events = run(rules, frames(range(0, 300, 5), lambda t: [*honest(t), stranger(shift=t % 3)]))
    # Four faces, three students checked in: too many faces too, also once.
    assert kinds(events) == [("unknown_person", None, 10.0), ("too_many_faces", None, 10.0)]
    evidence = events[0].evidence
    assert evidence["box"] == list(stranger(shift=10 % 3).box)
    assert evidence["frames"] == 3 and evidence["distance"] == 0.74
    assert len(evidence["frame"]["faces"]) == 4  # every box, for the thumbnail
    json.dumps(evidence, allow_nan=False)


def test_a_stranger_missed_in_a_frame_is_still_the_same_run():
    seen = {0, 5, 15}  # not at 10: a missed detection, then seen again
    events = run(
        RoomRules(RoomSettings(unknown_frames=3, missed_frames=2, too_many_faces=False)),
        frames(range(0, 20, 5), lambda t: [*honest(t), *([stranger()] if t in seen else [])]),
    )
    assert kinds(events) == [("unknown_person", None, 15.0)]


def test_a_stranger_who_leaves_and_comes_back_is_a_new_episode():
    present = lambda t: t < 30 or t >= 100  # noqa: E731
    events = run(
        RoomRules(RoomSettings(unknown_frames=3, missed_frames=2, too_many_faces=False)),
        frames(range(0, 200, 5), lambda t: [*honest(t), *([stranger()] if present(t) else [])]),
    )
    assert kinds(events) == [("unknown_person", None, 10.0), ("unknown_person", None, 110.0)]


def test_no_unknown_person_from_flickers_ambiguous_or_unreadable_faces():
    places = ["A4", "B1"]
    faces = lambda t: [  # noqa: E731
        *honest(t),
        stranger(places[int(t / 5) % 2]),  # a stranger at a new place in every frame
        RoomFace(BOXES["B1"], distance=0.45, ambiguous=True),  # twins not told apart
        RoomFace((900, 400, 905, 405)),  # too small to embed
    ]
    settings = RoomSettings(unknown_frames=3, missed_frames=0, too_many_faces=False)
    assert run(RoomRules(settings), frames(range(0, 300, 5), faces)) == []


def test_a_stranger_in_an_absent_student_seat_names_that_student():
    rules = RoomRules(RoomSettings(unknown_frames=3))
    faces = lambda t: [at_seat("ana", "A1"), at_seat("ben", "A2"), stranger("A3")]  # noqa: E731
    events = run(rules, frames(range(0, 15, 5), faces))
    assert kinds(events) == [("unknown_person", None, 10.0)]
    assert events[0].evidence["seat_holder"] == "cy"
    assert "at the seat of cy" in events[0].message


def test_a_student_who_never_checked_in_is_flagged_once():
    checked_in = {"ana": "A1", "ben": "A2"}
    faces = lambda t: [at_seat("ana", "A1"), at_seat("ben", "A2"), at_seat("dee", "A3")]  # noqa: E731
    rules = RoomRules(RoomSettings(sightings=3, too_many_faces=False))
    seconds = [*range(0, 60, 5), *range(600, 700, 5)]  # and again after a long gap
    events = run(rules, frames(seconds, faces), checked_in)
    assert kinds(events) == [("not_checked_in", "dee", 10.0)]
    assert events[0].evidence["enrolled"] is True
    assert events[0].evidence["box"] == list(BOXES["A3"])


def test_sightings_far_apart_do_not_add_up_to_not_checked_in():
    checked_in = {"ana": "A1", "ben": "A2"}
    faces = lambda t: [at_seat("dee", "A3")] if t % 300 == 0 else []  # noqa: E731
    rules = RoomRules(RoomSettings(sightings=3, sighting_gap_seconds=60, not_seen=False))
    assert run(rules, frames(range(0, 1500, 5), faces), checked_in) == []


def test_a_checked_in_student_unseen_is_flagged_once_per_absence():
    def faces(t):
        cy_here = t < 100 or 1000 <= t < 1100  # away from 100 s, back at 1000 s, away again
        return [at_seat("ana", "A1"), at_seat("ben", "A2"), *([at_seat("cy", "A3")] * cy_here)]

    rules = RoomRules(RoomSettings(not_seen_minutes=10))
    events = run(rules, frames(range(0, 2400, 5), faces))
    assert kinds(events) == [("not_seen", "cy", 695.0), ("not_seen", "cy", 1695.0)]
    assert events[0].started_at == T0 + 95
    assert events[0].evidence["last_seen"]["seat"] == "A3"
    assert events[0].evidence["minutes"] == 10.0


def test_a_student_never_seen_since_check_in():
    faces = lambda t: [at_seat("ana", "A1"), at_seat("ben", "A2")]  # noqa: E731
    events = run(RoomRules(RoomSettings(not_seen_minutes=5)), frames(range(0, 900, 10), faces))
    assert kinds(events) == [("not_seen", "cy", 300.0)]
    assert events[0].evidence["last_seen"] is None
    assert "not since check-in" in events[0].message


def test_more_faces_than_checked_in_students_sustained():
    checked_in = {"ana": "A1", "ben": "A2"}
    extra = lambda t: [at_seat("ana", "A1"), at_seat("ben", "A2"), RoomFace(BOXES["B1"])]  # noqa: E731
    one_off = lambda t: extra(t) if t == 20 else extra(t)[:2]  # noqa: E731
    settings = RoomSettings(too_many_frames=3)
    assert run(RoomRules(settings), frames(range(0, 100, 5), one_off), checked_in) == []
    events = run(RoomRules(settings), frames(range(0, 100, 5), extra), checked_in)
    assert kinds(events) == [("too_many_faces", None, 10.0)]
    assert events[0].evidence["faces"] == 3 and events[0].evidence["checked_in"] == 2


def test_cameras_are_not_added_up_for_too_many_faces():
    """Two overlapping cameras each see the same three students: not six people."""
    seconds = range(0, 60, 5)
    both = frames(seconds, honest, "front") + frames(seconds, honest, "back")
    both.sort(key=lambda frame: frame.at)
    assert run(RoomRules(RoomSettings()), both) == []


def test_a_student_at_another_student_seat():
    faces = lambda t: [at_seat("ana", "A1"), at_seat("ben", "A3"), at_seat("cy", "A2")]  # noqa: E731
    events = run(RoomRules(RoomSettings(sightings=3)), frames(range(0, 100, 5), faces))
    assert sorted(kinds(events)) == [("seat_mismatch", "ben", 10.0), ("seat_mismatch", "cy", 10.0)]
    ben = next(e for e in events if e.student == "ben")
    assert ben.evidence["seat_holder"] == "cy" and ben.evidence["assigned_seat"] == "A2"


def test_free_seating_and_unknown_seats_raise_no_seat_mismatch():
    free = {"ana": None, "ben": None, "cy": None}
    faces = lambda t: [at_seat("ana", "A3"), at_seat("ben", "A1"), at_seat("cy", "A4")]  # noqa: E731
    assert run(RoomRules(RoomSettings()), frames(range(0, 100, 5), faces), free) == []
    uncalibrated = lambda t: [RoomFace(BOXES["A3"], student="ana", distance=0.3)]  # noqa: E731
    settings = RoomSettings(not_seen=False, two_seats=False)
    assert run(RoomRules(settings), frames(range(0, 100, 5), uncalibrated)) == []


def test_one_student_at_two_seats_seen_by_two_cameras():
    """The front camera reads ana at her seat, the back one reads a look-alike as ana too."""
    front = frames(range(0, 60, 10), lambda t: [at_seat("ana", "A1")], "front")
    back = frames(range(5, 60, 10), lambda t: [at_seat("ana", "B1")], "back")
    settings = RoomSettings(sightings=3, seat_mismatch=False, not_seen=False)
    events = run(RoomRules(settings), sorted(front + back, key=lambda f: f.at))
    assert kinds(events) == [("two_seats", "ana", 15.0)]  # the third switch of place
    assert events[0].evidence["other_sighting"]["seat"] == "A1"
    assert events[0].evidence["seat"] == "B1"


def test_two_places_without_seats_by_boxes_of_one_camera():
    def faces(t):
        seat = "A1" if int(t / 5) % 2 else "A4"
        return [RoomFace(BOXES[seat], student="ana", distance=0.3)]

    settings = RoomSettings(sightings=3, not_seen=False)
    events = run(RoomRules(settings), frames(range(0, 60, 5), faces))
    assert kinds(events) == [("two_seats", "ana", 15.0)]
    assert events[0].message.endswith("front at x=700 and front at x=100")


def test_a_student_who_moves_seat_once_is_not_at_two_places():
    free = {"ana": None, "ben": None, "cy": None}
    faces = lambda t: [at_seat("ana", "A1" if t < 30 else "A4")]  # noqa: E731
    settings = RoomSettings(sightings=3, not_seen=False)
    assert run(RoomRules(settings), frames(range(0, 120, 5), faces), free) == []


def test_late_frames_are_ignored():
    rules = RoomRules(RoomSettings(unknown_frames=2))
    run(rules, frames([100], lambda t: [*honest(t), stranger()]))
    assert run(rules, frames([90, 95], lambda t: [*honest(t), stranger()])) == []


def test_switches_silence_their_rules():
    off = RoomSettings(unknown_person=False, too_many_faces=False, not_seen=False)
    faces = lambda t: [stranger(), RoomFace(BOXES["B1"])]  # noqa: E731
    assert run(RoomRules(off), frames(range(0, 1200, 5), faces)) == []


def scenario():
    """A busy exam: a stranger, an unregistered student, a swap of seats, an absence."""

    def faces(t):
        listed = [at_seat("ana", "A1"), at_seat("ben", "A3"), at_seat("dee", "B1")]
        return [*listed, *([stranger()] if 20 <= t < 60 else [])]

    return frames(range(0, 900, 5), faces)


def test_state_survives_a_json_round_trip_between_frames():
    settings = RoomSettings(not_seen_minutes=5)
    continuous = run(RoomRules(settings), scenario())
    restored, state = [], None
    for frame in scenario():
        rules = RoomRules(settings, json.loads(json.dumps(state)) if state else None)
        restored += rules.observe(frame, SEATS, ROSTER)
        state = rules.state()
    assert restored == continuous
    assert sorted(e.kind for e in continuous) == [
        "not_checked_in", "not_seen", "seat_mismatch", "too_many_faces", "unknown_person",
    ]  # fmt: skip
    for event in continuous:
        json.dumps(event.evidence, allow_nan=False)
