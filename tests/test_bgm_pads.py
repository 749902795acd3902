"""The built-in music: `generated` is pad 0, `generated:N` picks one of several pads that
really sound different (so batch siblings do not share their music)."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.errors import InputError
from workbench.ffmpeg import run_ffmpeg
from workbench.render.bgm import PAD_VARIANTS, generated_variant, resolve_bgm


def _samples(path) -> np.ndarray:
    raw = run_ffmpeg(["-i", str(path), "-ac", "1", "-ar", "8000", "-f", "s16le", "-"])
    return np.frombuffer(raw, dtype=np.int16).astype(float)


def test_pads_are_distinct_and_generated_is_pad_zero(tmp_path):
    assert resolve_bgm("generated", tmp_path) == resolve_bgm(None, tmp_path) == resolve_bgm(
        "generated:0", tmp_path)
    for wrong in (f"generated:{PAD_VARIANTS}", "generated:-1", "generated:" + "9" * 5000,
                  "generated:x", "generated:"):  # out of range on both sides: refused
        with pytest.raises(InputError, match="内置背景音乐编号无效"):
            resolve_bgm(wrong, tmp_path)
    pads = [_samples(resolve_bgm(f"generated:{n}", tmp_path)) for n in (0, 1, 5, 11)]
    n = min(len(p) for p in pads)
    assert n > 8000 * 15  # 16 s each
    for i, a in enumerate(pads):
        for b in pads[i + 1:]:
            assert abs(np.corrcoef(a[:n], b[:n])[0, 1]) < 0.6  # not the same tune


def test_bad_pad_numbers_say_what_is_allowed():
    assert generated_variant("none") is None and generated_variant("music.mp3") is None
    with pytest.raises(InputError, match="generated:0 到 generated:11"):
        generated_variant("generated:x")
