"""The sample drama 《夜渡》 for every test that needs real episodes.

It is generated once per test session, in a home of its own (a few seconds: espeak and three
small ffmpeg encodes), and shared. Tests read it and never change it: a test that wants to
alter an episode copies the folder first. Use it by importing the fixture into a test module:

    from drama_fixtures import sample_drama  # noqa: F401

and importing the folder with `add_drama(db, [sample_drama.folder])` in the test's own home.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import isolate

from workbench.config import Settings, load_settings
from workbench.materials.sample_drama import generate_sample_drama
from workbench.materials.sample_drama_script import DramaScript, load_script


@dataclass(frozen=True)
class SampleDrama:
    folder: Path  # 夜渡 - 第1集.mp4 … with 夜渡 - 第1集.srt … beside them
    episodes: tuple[Path, ...]  # in episode order
    script: DramaScript  # what the episodes say
    home: Path  # the WORKBENCH_HOME it was made in (its cache holds the sample)

    def settings(self, monkeypatch: pytest.MonkeyPatch) -> Settings:
        """Settings of the home that made the sample, for tests of its cache."""
        monkeypatch.setenv("WORKBENCH_HOME", str(self.home))
        return load_settings()


@pytest.fixture(scope="session")
def sample_drama(tmp_path_factory: pytest.TempPathFactory) -> SampleDrama:
    root = tmp_path_factory.mktemp("sample-drama")
    with pytest.MonkeyPatch.context() as mp:
        home = isolate(mp, root)
        episodes = generate_sample_drama(root / "夜渡", load_settings())
    return SampleDrama(root / "夜渡", tuple(episodes), load_script(), home)
