"""Perceptual fingerprints: does a new video look like one already made for the same task?

Platforms flag re-uploads by matching sampled key frames, so we do the same: a perceptual
hash (imagehash's pHash at hash_size 16: 256 bits, fine enough to see subtitle lines over a
dark background) of frames sampled evenly over the story part of the video (the end card,
identical by design for a keyword, is left out). Two videos' distance is the mean Hamming
distance of their frames in time order; at or below `DUPLICATE_BITS` they count as
near-identical — e.g. the same picture with other music, or a re-encode.
"""

from __future__ import annotations

import json
from pathlib import Path

import imagehash
from PIL import Image
from sqlite_utils import Database

from workbench.store import utcnow

ALGO = "phash16-frames8"
HASH_SIZE = 16
BITS = HASH_SIZE * HASH_SIZE
FRAMES = 8
# Mean bits (of 256) that differ per frame. Measured on draft renders of the sample novel: the
# same picture with other music 0, a CRF 35 re-encode of a video 12; variants of one brief
# (other hook or voice, other background seed) 24-36, other chapters 47-66. (pHash at 8x8
# could not tell two chapters apart over the same dark gradient: 5 bits of 64.)
DUPLICATE_BITS = 16.0


def sample_times(duration: float, tail: float, frames: int = FRAMES) -> list[float]:
    """`frames` times spread over [0, duration - tail), away from the very first frame."""
    span = max(duration - tail, min(duration, 1.0))
    return [span * (i + 0.5) / frames for i in range(frames)]


def fingerprint_video(path: Path, *, tail: float = 3.0, frames: int = FRAMES) -> list[str]:
    """Hex pHashes of `frames` sampled frames of the video at `path`."""
    from moviepy import VideoFileClip

    with VideoFileClip(str(path), audio=False) as clip:
        times = sample_times(float(clip.duration or 0.0), tail, frames)
        return [str(imagehash.phash(Image.fromarray(clip.get_frame(t)).convert("L"),
                                    hash_size=HASH_SIZE)) for t in times]


def distance(a: list[str], b: list[str]) -> float:
    """Mean Hamming distance (bits) between frame hashes in the same positions."""
    pairs = list(zip(a, b, strict=False))
    if not pairs:
        return float(BITS)
    return sum(imagehash.hex_to_hash(x) - imagehash.hex_to_hash(y) for x, y in pairs) / len(pairs)


def _same_task(db: Database, keyword: str, task_id: int | None) -> list[dict]:
    if task_id is not None:
        where, args = "task_id = ?", [task_id]
    else:
        where, args = "keyword = ? AND task_id IS NULL", [keyword]
    return [dict(r) for r in db["fingerprints"].rows_where(where, args, order_by="created_at")]


def nearest_earlier(db: Database, submission_id: str, keyword: str, task_id: int | None,
                    frames: list[str]) -> tuple[str | None, float | None]:
    """The closest earlier fingerprint for the same task (task id, else keyword)."""
    best: tuple[str | None, float | None] = (None, None)
    for row in _same_task(db, keyword, task_id):
        if row["submission_id"] == submission_id:
            continue
        d = distance(frames, json.loads(row["frames"]))
        if best[1] is None or d < best[1]:
            best = (row["submission_id"], d)
    return best


def record_fingerprint(db: Database, submission_id: str, keyword: str, task_id: int | None,
                       frames: list[str]) -> tuple[str | None, float | None]:
    """Store the fingerprint; returns (earlier submission, distance) when it is a near
    duplicate of one, else (None, nearest distance or None)."""
    other, d = nearest_earlier(db, submission_id, keyword, task_id, frames)
    duplicate = other if d is not None and d <= DUPLICATE_BITS else None
    db["fingerprints"].upsert({
        "submission_id": submission_id, "keyword": keyword, "task_id": task_id, "algo": ALGO,
        "frames": json.dumps(frames), "duplicate_of": duplicate,
        "distance": None if d is None else round(d, 2), "created_at": utcnow(),
    }, pk="submission_id")
    return duplicate, d


def backfill(db: Database, keyword: str, task_id: int | None) -> int:
    """Fingerprint earlier packages of this task made outside a batch (`workbench make`), so
    new outputs are compared with them too. Returns how many were added."""
    where = "keyword = ? AND id NOT IN (SELECT submission_id FROM fingerprints)"
    args: list = [keyword]
    if task_id is not None:
        where = "task_id = ? AND id NOT IN (SELECT submission_id FROM fingerprints)"
        args = [task_id]
    added = 0
    for row in db["submissions"].rows_where(where, args, order_by="created_at"):
        video = Path(row["path"]) / "video.mp4"
        if not video.is_file():
            continue
        try:
            frames = fingerprint_video(video)
        except (OSError, ValueError, KeyError, IndexError):
            continue  # an unreadable old file is not this batch's problem
        db["fingerprints"].upsert({
            "submission_id": row["id"], "keyword": row["keyword"], "task_id": row["task_id"],
            "algo": ALGO, "frames": json.dumps(frames), "duplicate_of": None, "distance": None,
            "created_at": row["created_at"],
        }, pk="submission_id")
        added += 1
    return added
