"""Rules for an exam hall watched by room cameras: strangers, absentees, crowds, wrong seats.

Pure Python (no Django, no ORM) so it is tested alone. The worker has already read each frame:
every face detected, those large enough embedded and identified against the room's students
(`assignment.assign`: one face per student, open set), and placed on a seat. The rules turn
those readings, frame after frame, into events; like `rules.SessionRules`, none fires on one
frame, each fires once per episode, and the state is a JSON-able dict kept by the caller.

Seats: a hall's seat plan is rows x columns of labelled seats ("C7"). Which seat a face box
falls on comes from each camera's calibration (`seat_map`: a homography from the seat grid to
the image); the seat comes in with each face, None where unknown (an uncalibrated camera, a
face in the aisle), and every rule works without it (seat rules then stay silent, and "two
places" falls back to boxes of one camera).

Evidence: each event carries the face box (to crop a snapshot from the stored frame) and the
frame's camera, time and every face's box (for the whole-frame thumbnail with boxes).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

Box = tuple[float, float, float, float]  # left, top, right, bottom, in the frame's pixels


@dataclass(frozen=True)
class RoomFace:
    box: Box
    seat: str | None = None  # the seat the face is on; None: camera not calibrated, or no seat
    student: str | None = None  # whom the frame's assignment identified; None: nobody
    # To that student, else to the nearest; None when not compared (too small or blurred).
    distance: float | None = None
    ambiguous: bool = False  # near a student but not told apart from another: not a stranger

    @property
    def stranger(self) -> bool:
        """Compared with the room's students and like none of them."""
        return self.student is None and self.distance is not None and not self.ambiguous


@dataclass(frozen=True)
class RoomFrame:
    at: float  # seconds since the epoch, when the frame was captured
    camera: str
    faces: tuple[RoomFace, ...] = ()


@dataclass(frozen=True)
class RoomSettings:
    """Per-exam thresholds; a rule whose switch is off never fires."""

    unknown_person: bool = True
    unknown_frames: int = 3  # frames a stranger's face is seen at one place before the flag
    not_checked_in: bool = True
    not_seen: bool = True
    not_seen_minutes: float = 10.0
    too_many_faces: bool = True
    too_many_frames: int = 3  # frames of one camera with more faces than checked-in students
    seat_mismatch: bool = True
    two_seats: bool = True
    # Identifications of a student before a rule on them fires (one can be a misreading).
    sightings: int = 3
    sighting_gap_seconds: float = 60.0  # sightings further apart than this do not add up
    two_seats_seconds: float = 30.0  # a student seen at two places this close in time
    # Frames of a camera a place may go unseen (a turned head, a missed detection) and still
    # count as the same run; a run that fired ends after this many clear frames more.
    missed_frames: int = 2
    track_iou: float = 0.3  # box overlap for one place across frames of a camera


@dataclass(frozen=True)
class RoomEvent:
    kind: str
    severity: int  # 1 low, 2 medium, 3 high
    student: str | None
    camera: str
    started_at: float
    at: float
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Run:
    """A condition seen over frames: how many times, since when, whether it fired."""

    hits: int = 0
    misses: int = 0
    since: float | None = None
    last: float | None = None
    fired: bool = False

    def hit(self, at: float, gap: float = math.inf) -> None:
        """One more frame with the condition; after a gap longer than `gap`, a new run."""
        if self.last is not None and at - self.last > gap:
            self.hits, self.since, self.fired = 0, None, False
        self.hits, self.misses, self.last = self.hits + 1, 0, at
        self.since = at if self.since is None else self.since

    def miss(self, tolerance: int) -> bool:
        """One frame without it; True when the run is over."""
        self.misses += 1
        return self.misses > tolerance

    def due(self, needed: int) -> bool:
        """True once per run, when it has lasted `needed` hits."""
        if self.fired or self.hits < needed:
            return False
        self.fired = True
        return True


@dataclass
class _Track(_Run):
    """A stranger's face at one place of one camera's view."""

    id: int = 0
    camera: str = ""
    box: list[float] = field(default_factory=list)


@dataclass
class _SeatRun(_Run):
    seat: str | None = None  # the wrong seat this run counts sightings at


@dataclass
class _Presence:
    """A checked-in student: since when unseen (or checked in), whether that absence fired."""

    since: float
    fired: bool = False
    last: dict | None = None  # the last sighting


def _sighting(frame: RoomFrame, face: RoomFace) -> dict[str, Any]:
    return {"at": frame.at, "camera": frame.camera, "box": list(face.box), "seat": face.seat}


def _iou(a, b) -> float:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def _same_place(a: dict, b: dict) -> bool | None:
    """By seats when both are known, else by boxes of one camera (one face's boxes overlap
    from frame to frame; two neighbours' do not); None: cannot tell (two cameras, no seats)."""
    if a["seat"] is not None and b["seat"] is not None:
        return a["seat"] == b["seat"]
    if a["camera"] == b["camera"]:
        return _iou(a["box"], b["box"]) > 0
    return None


def _number(value: float | None) -> float | None:
    """JSON-safe: no infinities."""
    return round(value, 4) if value is not None and math.isfinite(value) else None


class RoomRules:
    """Rule state for one exam room (all its cameras); feed it frames in time order per camera,
    with the students checked in (id -> assigned seat or None) and those enrolled."""

    def __init__(self, settings: RoomSettings, state: dict | None = None) -> None:
        self.settings = settings
        state = state or {}
        self.last_at: dict[str, float] = state.get("last_at", {})  # per camera
        self.next_track: int = state.get("next_track", 1)
        self.tracks = [_Track(**track) for track in state.get("tracks", [])]
        self.crowds = {k: _Run(**run) for k, run in state.get("crowds", {}).items()}
        self.unchecked = {k: _Run(**run) for k, run in state.get("unchecked", {}).items()}
        self.misplaced = {k: _SeatRun(**run) for k, run in state.get("misplaced", {}).items()}
        self.doubled = {k: _Run(**run) for k, run in state.get("doubled", {}).items()}
        self.recent: dict[str, list[dict]] = state.get("recent", {})  # sightings per student
        self.presence = {k: _Presence(**p) for k, p in state.get("presence", {}).items()}

    def state(self) -> dict:
        return {
            "last_at": self.last_at,
            "next_track": self.next_track,
            "tracks": [asdict(track) for track in self.tracks],
            "crowds": {k: asdict(run) for k, run in self.crowds.items()},
            "unchecked": {k: asdict(run) for k, run in self.unchecked.items()},
            "misplaced": {k: asdict(run) for k, run in self.misplaced.items()},
            "doubled": {k: asdict(run) for k, run in self.doubled.items()},
            "recent": self.recent,
            "presence": {k: asdict(p) for k, p in self.presence.items()},
        }

    def observe(
        self, frame: RoomFrame, checked_in: Mapping[str, str | None], roster: Collection[str]
    ) -> list[RoomEvent]:
        last = self.last_at.get(frame.camera)
        if last is not None and frame.at < last:
            return []  # a late, out-of-order frame: this camera's stream has moved on
        self.last_at[frame.camera] = frame.at
        s = self.settings
        holders = {seat: student for student, seat in checked_in.items() if seat is not None}
        events = self._strangers(frame, holders) if s.unknown_person else []
        if s.too_many_faces:
            events += self._crowd(frame, checked_in)
        for face in frame.faces:
            if face.student is None:
                continue
            sighting = _sighting(frame, face)
            if face.student not in checked_in:
                events += self._unchecked(frame, face, roster) if s.not_checked_in else []
            else:
                self.presence[face.student] = _Presence(since=frame.at, last=sighting)
                self.unchecked.pop(face.student, None)  # checked in since
                if s.seat_mismatch:
                    events += self._seat(frame, face, checked_in[face.student], holders)
            if s.two_seats:
                events += self._two_places(frame, face, sighting)
        return events + self._absences(frame, checked_in)

    def _event(
        self, kind: str, severity: int, frame: RoomFrame, since: float, message: str,
        face: RoomFace | None = None, **measurements: Any,
    ) -> RoomEvent:  # fmt: skip
        evidence = {
            **measurements,
            "box": list(face.box) if face else None,
            "seat": face.seat if face else None,
            "distance": _number(face.distance) if face else None,
            "frame": {
                "camera": frame.camera,
                "at": frame.at,
                "faces": [
                    {"box": list(f.box), "student": f.student, "seat": f.seat} for f in frame.faces
                ],
            },
        }
        student = face.student if face else measurements.get("student")
        return RoomEvent(kind, severity, student, frame.camera, since, frame.at, message, evidence)

    def _strangers(self, frame: RoomFrame, holders: Mapping[str, str]) -> list:
        """Tracks strangers' faces by box overlap across this camera's frames."""
        s = self.settings
        faces = [face for face in frame.faces if face.stranger]
        tracks = [track for track in self.tracks if track.camera == frame.camera]
        pairs = sorted(
            ((_iou(track.box, face.box), t, f) for t, track in enumerate(tracks)
             for f, face in enumerate(faces)),
            key=lambda pair: (-pair[0], pair[1], pair[2]),
        )  # fmt: skip
        matched: dict[int, int] = {}  # face -> track, greedily by overlap
        for overlap, t, f in pairs:
            if overlap < s.track_iou:
                break
            if f not in matched and t not in matched.values():
                matched[f] = t
        ended = {
            track.id for t, track in enumerate(tracks)
            if t not in matched.values() and track.miss(s.missed_frames)
        }  # fmt: skip
        self.tracks = [track for track in self.tracks if track.id not in ended]
        events = []
        for f, face in enumerate(faces):
            if f in matched:
                track = tracks[matched[f]]
            else:
                track = _Track(id=self.next_track, camera=frame.camera)
                self.next_track += 1
                self.tracks.append(track)
            track.hit(frame.at)
            track.box = list(face.box)
            if track.due(s.unknown_frames):
                events.append(self._unknown_event(frame, face, track, holders))
        return events

    def _unknown_event(
        self, frame: RoomFrame, face: RoomFace, track: _Track, holders: Mapping[str, str]
    ) -> RoomEvent:
        holder = holders.get(face.seat) if face.seat else None
        message = f"Unknown person in the room ({track.hits} frames at one place)"
        if holder:
            message += f", at the seat of {holder}"
        return self._event(
            "unknown_person", 3, frame, track.since, message, face,
            frames=track.hits, track=track.id, seat_holder=holder,
        )  # fmt: skip

    def _crowd(self, frame: RoomFrame, checked_in: Mapping[str, str | None]) -> list:
        """More faces in one camera's frame than students checked in (overlapping cameras may
        see one person twice, so frames are never added up across cameras)."""
        s = self.settings
        run = self.crowds.get(frame.camera)
        if len(frame.faces) <= len(checked_in):
            if run and run.miss(s.missed_frames):
                del self.crowds[frame.camera]
            return []
        run = self.crowds.setdefault(frame.camera, _Run())
        run.hit(frame.at)
        if not run.due(s.too_many_frames):
            return []
        message = f"{len(frame.faces)} faces in view, {len(checked_in)} students checked in"
        return [
            self._event(
                "too_many_faces", 2, frame, run.since, message,
                faces=len(frame.faces), checked_in=len(checked_in), frames=run.hits,
            )
        ]  # fmt: skip

    def _unchecked(self, frame: RoomFrame, face: RoomFace, roster: Collection[str]) -> list:
        """A student identified here who never checked in: once per student (once it fired,
        no gap re-arms it: still not checked in is the same fact)."""
        s, student = self.settings, face.student
        run = self.unchecked.setdefault(student, _Run())
        run.hit(frame.at, math.inf if run.fired else s.sighting_gap_seconds)
        if not run.due(s.sightings):
            return []
        enrolled = student in roster
        message = f"{student} is in the room but has not checked in"
        if not enrolled:
            message += " (not enrolled in this room's exams)"
        return [
            self._event(
                "not_checked_in", 2, frame, run.since, message, face,
                sightings=run.hits, enrolled=enrolled,
            )
        ]  # fmt: skip

    def _seat(
        self, frame: RoomFrame, face: RoomFace, own: str | None, holders: Mapping[str, str]
    ) -> list:
        """At a seat not theirs: another's assigned seat, or any seat but their own."""
        if face.seat is None:
            return []  # no seat known for this face: nothing to judge
        student, s = face.student, self.settings
        holder = holders.get(face.seat)
        if face.seat == own or (own is None and holder is None):
            self.misplaced.pop(student, None)  # at their seat (or free seating): episode over
            return []
        run = self.misplaced.get(student)
        if run is None or run.seat != face.seat:
            run = self.misplaced[student] = _SeatRun(seat=face.seat)
        run.hit(frame.at, s.sighting_gap_seconds)
        if not run.due(s.sightings):
            return []
        message = f"{student} is at seat {face.seat}"
        message += f", assigned to {holder}" if holder else ""
        message += f" (their seat: {own})" if own else ""
        return [
            self._event(
                "seat_mismatch", 1, frame, run.since, message, face,
                assigned_seat=own, seat_holder=holder, sightings=run.hits,
            )
        ]  # fmt: skip

    def _two_places(self, frame: RoomFrame, face: RoomFace, sighting: dict) -> list:
        """One student seen switching between two places: two people read as one student, by
        two cameras, or in frames of one camera (within a frame the assignment allows one face
        per student). Switches are counted, not sightings: a student who moves seats once
        switches once, one walking past and back twice."""
        s, student = self.settings, face.student
        recent = [
            other for other in self.recent.get(student, [])
            if abs(frame.at - other["at"]) <= s.two_seats_seconds
        ]  # fmt: skip
        self.recent[student] = [*recent, sighting]
        # The latest sighting that can be compared (the later added first among equal times).
        latest = sorted(reversed(recent), key=lambda o: o["at"], reverse=True)
        other = next((o for o in latest if _same_place(o, sighting) is not None), None)
        if other is None or _same_place(other, sighting):
            return []
        run = self.doubled.setdefault(student, _Run())
        run.hit(frame.at, s.sighting_gap_seconds)
        if not run.due(s.sightings):
            return []
        where = [
            f"seat {o['seat']}" if o["seat"] else f"{o['camera']} at x={o['box'][0]:.0f}"
            for o in (other, sighting)
        ]
        message = f"{student} seen at two places within {s.two_seats_seconds:.0f} s: "
        message += " and ".join(where)
        return [
            self._event(
                "two_seats", 3, frame, run.since, message, face,
                other_sighting=other, sightings=run.hits,
            )
        ]  # fmt: skip

    def _absences(self, frame: RoomFrame, checked_in: Mapping[str, str | None]) -> list:
        """A checked-in student not identified for a while: once per absence."""
        for student in set(self.presence) - set(checked_in):
            del self.presence[student]  # checked out: no longer expected here
        events = []
        limit = self.settings.not_seen_minutes * 60
        for student in sorted(checked_in):
            presence = self.presence.setdefault(student, _Presence(since=frame.at))
            unseen = frame.at - presence.since
            if not self.settings.not_seen or presence.fired or unseen < limit:
                continue
            presence.fired = True
            message = f"{student} not seen for {unseen / 60:.0f} min"
            if presence.last is None:
                message += " (not since check-in)"
            events.append(
                self._event(
                    "not_seen", 2, frame, presence.since, message,
                    student=student, minutes=round(unseen / 60, 1), last_seen=presence.last,
                )
            )  # fmt: skip
        return events
