"""A tiny faster-whisper model folder built at test time, so the `faster-whisper` backend runs
for real (CTranslate2 inference, PyAV decoding, faster-whisper's own tokenizer and timestamp
handling) on machines that cannot download a model.

The folder has what a converted Whisper model has: `model.bin` (a CTranslate2 `WhisperSpec`),
`vocabulary.json`, `config.json` (alignment_heads, lang_ids, suppress_ids,
suppress_ids_begin), `preprocessor_config.json` and a `tokenizer.json` made with the
`tokenizers` library. Its vocabulary has Whisper's multilingual layout and size (51,865: 50,257
text tokens, `<|endoftext|>`, `<|startoftranscript|>`, 99 language tokens, `<|translate|>`,
`<|transcribe|>`, `<|startoflm|>`, `<|startofprev|>`, `<|nospeech|>`, `<|notimestamps|>`,
then `<|0.00|>` … `<|30.00|>`), and like Whisper's its last text token is the empty string:
that is how CTranslate2 4.x tells a multilingual model (checked against a real converted
Whisper base), so `language="zh"` is honoured and `auto` runs real language detection.

The weights are random (seeded), tiny (2+2 layers, d_model 64, 4 heads, 80 mel bins) and
cannot recognise speech. Left alone such a model keeps predicting `<|endoftext|>` or noise, so
the decoder is biased deterministically: each token of a small chain gets a large embedding in
a direction of its own, and the output projection is solved (least squares) so that from each
of those tokens the next one of the chain scores far above everything else. The random
attention and feed-forward layers (the audio included) still run and only nudge the logits by
a fraction of the margins. What any window of audio decodes to is therefore

    <|0.00|> 合成模型甲 <|0.50|><|0.50|> 合成模型乙 <|1.00|> <|endoftext|>

that is two segments, 0.0–0.5 s and 0.5–1.0 s: the text says it comes from this synthetic
model, never from the audio. Whisper's timestamp rules (applied inside CTranslate2) do the rest:
after `<|0.50|>` the first time text is forbidden so the pair is closed; the second time
timestamps are forbidden so the second word follows. `<|startoftranscript|>` prefers `<|zh|>`,
so detection says Chinese. Building takes under a second; the folder is about 16 MB (float16; the
embeddings and the output projection are most of it).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

WORDS = ("合成模型甲", "合成模型乙")  # the only text this model ever writes
TEXT_TOKENS = 50_257
_LANGUAGE_CODES = (  # Whisper's 99 (large-v2 and before), in Whisper's order
    "en zh de es ru ko fr ja pt tr pl ca nl ar sv it id hi fi vi he uk el ms cs ro da hu ta no "
    "th ur hr bg lt la mi ml cy sk te fa lv bn sr az sl kn et mk br eu is hy ne mn bs kk sq sw "
    "gl mr pa si km sn yo so af oc ka be tg sd gu am yi lo uz fo ht ps tk nn mt sa lb my bo tl "
    "mg as tt haw ln ha ba jw su")
LANGUAGES = tuple(_LANGUAGE_CODES.split())
SPECIALS_BEFORE_LANGUAGES = ("<|endoftext|>", "<|startoftranscript|>")
SPECIALS_AFTER_LANGUAGES = ("<|translate|>", "<|transcribe|>", "<|startoflm|>",
                            "<|startofprev|>", "<|nospeech|>", "<|notimestamps|>")
TIMESTAMPS = 1501  # <|0.00|> … <|30.00|> every 20 ms
D_MODEL, HEADS, LAYERS, N_MELS = 64, 4, 2, 80
AUDIO_POSITIONS, TEXT_POSITIONS = 1500, 448  # 30 s of frames after the stride-2 conv; tokens
PREFERRED, SECOND, THIRD, OTHER = 12.0, 6.0, 2.0, -8.0  # logits from a token of the chain


def byte_level(text: str) -> str:
    """`text` as GPT-2 byte-level symbols (what Whisper's BPE vocabulary holds)."""
    table = _byte_table()
    return "".join(table[b] for b in text.encode("utf-8"))


def _byte_table() -> dict[int, str]:
    """GPT-2's bytes_to_unicode: printable bytes stand for themselves, the rest shift up."""
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1),
            *range(ord("®"), ord("ÿ") + 1)]
    table, shift = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + shift)
            shift += 1
    return table


def vocabulary() -> list[str]:
    """All 51,865 tokens in id order: bytes, two words, fillers, specials, timestamps."""
    text = list(_byte_table().values()) + [byte_level(w) for w in WORDS]
    symbols = list(_byte_table().values())
    fillers = (a + b for a in symbols for b in symbols)  # two-byte tokens, as real BPE has
    seen = set(text)
    for token in fillers:
        if len(text) == TEXT_TOKENS - 1:
            break
        if token not in seen:
            text.append(token)
            seen.add(token)
    text.append("")  # as in Whisper's own vocabulary (id 50256); CTranslate2 4.x calls a model
    # multilingual when its vocabulary holds the empty token
    tokens = [*text, *SPECIALS_BEFORE_LANGUAGES, *(f"<|{c}|>" for c in LANGUAGES),
              *SPECIALS_AFTER_LANGUAGES, *(f"<|{i * 0.02:.2f}|>" for i in range(TIMESTAMPS))]
    assert len(tokens) == len(set(tokens)) == 51_865, "not Whisper's multilingual layout"
    return tokens


def _chain(ids: dict[str, int]) -> dict[int, list[int]]:
    """From token → the next tokens it prefers, best first (see the module docstring)."""
    ts = {t: ids[f"<|{t:.2f}|>"] for t in (0.0, 0.5, 1.0)}
    eot, words = ids["<|endoftext|>"], [ids[byte_level(w)] for w in WORDS]
    return {
        ids["<|startoftranscript|>"]: [ids["<|zh|>"]],
        ids["<|zh|>"]: [ids["<|transcribe|>"]],
        ids["<|en|>"]: [ids["<|transcribe|>"]],
        ids["<|transcribe|>"]: [ts[0.0]],
        ts[0.0]: [words[0]],
        words[0]: [ts[0.5]],
        ts[0.5]: [ts[0.5], words[1], eot],  # the pair first, then the second word
        words[1]: [ts[1.0]],
        ts[1.0]: [eot, ts[1.0]],
    }


def _layer_norm(x: np.ndarray) -> np.ndarray:
    return (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5)


def build_model(folder: Path, seed: int = 15) -> Path:
    """Write the model folder (created; must not exist yet) and return it."""
    import ctranslate2
    from ctranslate2.specs import common_spec
    from ctranslate2.specs.whisper_spec import WhisperSpec

    rng = np.random.default_rng(seed)
    tokens = vocabulary()
    ids = {token: i for i, token in enumerate(tokens)}
    size, d = len(tokens), D_MODEL

    def small(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.02).astype(np.float32)

    def linear(spec: common_spec.LinearSpec, out: int, inp: int) -> None:
        spec.weight, spec.bias = small(out, inp), np.zeros(out, np.float32)

    def norm(spec: common_spec.LayerNormSpec) -> None:
        spec.gamma, spec.beta = np.ones(d, np.float32), np.zeros(d, np.float32)

    spec = WhisperSpec(LAYERS, HEADS, LAYERS, HEADS)
    enc, dec = spec.encoder, spec.decoder
    enc.conv1.weight, enc.conv1.bias = small(d, N_MELS, 3) * 10, np.zeros(d, np.float32)
    enc.conv2.weight, enc.conv2.bias = small(d, d, 3) * 10, np.zeros(d, np.float32)
    enc.position_encodings.encodings = small(AUDIO_POSITIONS, d)
    norm(enc.layer_norm)
    for layer in enc.layer:
        linear(layer.self_attention.linear[0], 3 * d, d)
        linear(layer.self_attention.linear[1], d, d)
        norm(layer.self_attention.layer_norm)
        linear(layer.ffn.linear_0, 4 * d, d)
        linear(layer.ffn.linear_1, d, 4 * d)
        norm(layer.ffn.layer_norm)
    for layer in dec.layer:
        linear(layer.self_attention.linear[0], 3 * d, d)
        linear(layer.self_attention.linear[1], d, d)
        norm(layer.self_attention.layer_norm)
        linear(layer.attention.linear[0], d, d)
        linear(layer.attention.linear[1], 2 * d, d)
        linear(layer.attention.linear[2], d, d)
        norm(layer.attention.layer_norm)
        linear(layer.ffn.linear_0, 4 * d, d)
        linear(layer.ffn.linear_1, d, 4 * d)
        norm(layer.ffn.layer_norm)
    norm(dec.layer_norm)
    dec.position_encodings.encodings = small(TEXT_POSITIONS, d)

    # The bias (module docstring): chain tokens get big orthogonal embeddings, the projection
    # maps each one's normalised state to the logits wanted after it.
    chain = _chain(ids)
    embeddings = small(size, d)
    basis = np.linalg.qr(rng.standard_normal((d, d)))[0].T  # orthonormal rows
    basis -= basis.mean(axis=1, keepdims=True)  # layer norm removes the mean: keep it out
    for row, token in zip(basis, chain, strict=False):
        embeddings[token] = row * 40
    states = _layer_norm(np.stack([embeddings[token] for token in chain]))
    wanted = np.full((len(chain), size), OTHER, np.float32)
    for k, following in enumerate(chain.values()):
        for score, token in zip((PREFERRED, SECOND, THIRD), following, strict=False):
            wanted[k, token] = score
    projection = (np.linalg.pinv(states) @ wanted).T.astype(np.float32)  # size × d
    projection += small(size, d) * 0.05  # other states still give varied, small logits
    dec.embeddings.weight = embeddings
    dec.projection.weight = projection

    spec.register_vocabulary(tokens)
    config = spec.config
    config.suppress_ids = []
    config.suppress_ids_begin = [ids[byte_level(" ")], ids["<|endoftext|>"]]
    config.lang_ids = [ids[f"<|{c}|>"] for c in LANGUAGES]
    config.alignment_heads = [[LAYERS - 1, h] for h in range(HEADS)]
    spec.validate()
    spec.optimize(quantization="float16")
    folder.mkdir(parents=True)
    spec.save(str(folder))
    _write_tokenizer(folder / "tokenizer.json", tokens)
    (folder / "preprocessor_config.json").write_text(json.dumps({
        "feature_extractor_type": "WhisperFeatureExtractor", "feature_size": N_MELS,
        "sampling_rate": 16000, "hop_length": 160, "chunk_length": 30, "n_fft": 400,
        "n_samples": 480000, "nb_max_frames": 3000, "padding_value": 0.0}), encoding="utf-8")
    assert ctranslate2.contains_model(str(folder))
    return folder


def _write_tokenizer(path: Path, tokens: list[str]) -> None:
    """A byte-level BPE tokenizer over the vocabulary; specials are added tokens."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    vocab = {token: i for i, token in enumerate(tokens)}
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    specials = tokens[TEXT_TOKENS:len(tokens) - TIMESTAMPS]
    tokenizer.add_special_tokens([AddedToken(t, special=True) for t in specials])
    tokenizer.save(str(path))
