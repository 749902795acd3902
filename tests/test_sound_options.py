"""Sound per job: voice pitch and volume and the music's level, from `make` and briefs, part of
the recipe (a different level is a different package) and heard in the video."""

# The fixtures are imported by name, so test parameters "redefine" them:
# ruff: noqa: F811
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from batch_fixtures import NOVEL, batch_settings, write_folder  # noqa: F401
from cli_runner import run_cli

from workbench.ffmpeg import ffmpeg_exe


def silent_share(video: str) -> float:
    """The share of 0.1 s stretches of the video's sound below -60 dB: the pauses between
    sentences are silent without music and carry the music with it."""
    levels_filter = ("asetnsamples=n=4410,astats=metadata=1:reset=1,"
                     "ametadata=print:key=lavfi.astats.Overall.RMS_level:file=-")
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", video, "-af",
                           levels_filter, "-f", "null", "-"], capture_output=True, text=True,
                          check=True)
    levels = [-999.0 if v == "-inf" else float(v)
              for v in re.findall(r"RMS_level=(-?[\d.]+|-inf)", proc.stdout)]
    return sum(level < -60 for level in levels) / len(levels)


def test_make_takes_pitch_volume_and_music_level(batch_settings, db):
    assert run_cli("material", "add", str(NOVEL)).returncode == 0
    base = ["make", "--material", "1", "--chapter", "2", "--template", "tiny", "--keyword",
            "夜渡迷局", "--voice-backend", "espeak"]
    quiet = run_cli(*base, "--bgm-volume", "0")
    loud = run_cli(*base, "--bgm-volume", "1", "--pitch", "+10Hz", "--volume", "-20%")
    assert quiet.returncode == 0 and loud.returncode == 0, quiet.stderr + loud.stderr
    packages = {}
    for name, result in (("quiet", quiet), ("loud", loud)):
        folder = re.search(r"成品包: (\S+)", result.stdout).group(1)
        manifest = Path(folder) / "manifest.json"
        packages[name] = (folder, json.loads(manifest.read_text(encoding="utf-8")))
    assert packages["quiet"][0] != packages["loud"][0]  # another level, another package
    recipe = packages["loud"][1]["recipe"]
    assert (recipe["bgm_volume"], recipe["pitch"], recipe["volume"]) == (1.0, "+10Hz", "-20%")
    assert packages["quiet"][1]["recipe"]["bgm_volume"] == 0.0
    # Between sentences: near silence without music, the music's level with it.
    assert silent_share(f"{packages['quiet'][0]}/video.mp4") > 0.03
    assert silent_share(f"{packages['loud'][0]}/video.mp4") == 0
    refused = run_cli(*base, "--bgm-volume", "1.5")
    assert refused.returncode == 1 and "背景音乐音量应在 0 到 1 之间（收到 1.5）" in refused.stderr


def test_a_brief_sets_the_music_level(batch_settings, db, tmp_path):
    folder = write_folder(tmp_path / "briefs", {"a.yaml": {"bgm_volume": 0.1}})
    assert run_cli("batch", str(folder), "--dry-run").returncode == 0
    bad = write_folder(tmp_path / "bad", {"a.yaml": {"bgm_volume": 2}})
    result = run_cli("batch", str(bad), "--dry-run")
    assert result.returncode == 1 and "背景音乐音量写成 0 到 1 之间的数" in result.stdout + result.stderr
