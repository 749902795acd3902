from pathlib import Path

import pytest

from workbench.files import atomic_output, write_text_atomic


def test_atomic_output_renames_on_success(tmp_path: Path) -> None:
    target = tmp_path / "out" / "video.mp4"
    with atomic_output(target, ".mp4") as tmp:
        assert tmp.parent == target.parent and tmp.name.startswith(".video.mp4.")
        assert tmp.name.endswith(".part.mp4")
        tmp.write_bytes(b"done")
        assert not target.exists()  # nothing under the final name while writing
    assert target.read_bytes() == b"done" and target.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in target.parent.iterdir()] == ["video.mp4"]


def test_atomic_output_removes_the_partial_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "video.mp4"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_output(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("ffmpeg died")
    assert target.read_bytes() == b"old"  # the previous file is untouched
    assert [p.name for p in tmp_path.iterdir()] == ["video.mp4"]


def test_write_text_atomic(tmp_path: Path) -> None:
    write_text_atomic(tmp_path / "a.txt", "你好")
    assert (tmp_path / "a.txt").read_text("utf-8") == "你好"


def test_atomic_output_with_a_fixed_temp_name(tmp_path: Path) -> None:
    target, temp = tmp_path / "video.mp4", tmp_path / ".video.mp4.part"
    temp.write_bytes(b"stale")  # a killed run's leftover
    with atomic_output(target, temp=temp) as tmp:
        assert tmp == temp and not temp.exists()
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new" and not temp.exists()
