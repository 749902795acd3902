"""The openai rewrite backend against a real local OpenAI-compatible server (tests/llm_server.py).

Only 127.0.0.1 is contacted; the real SDK does the HTTP, retries and timeouts.
"""
# The `llm_server` fixture is imported by name, so test parameters "redefine" it:
# ruff: noqa: F811

from __future__ import annotations

import gzip
import json
import logging
import threading
import time
import traceback
import tracemalloc
import zlib
from pathlib import Path
from typing import Any

import pytest
from llm_server import (  # noqa: F401
    LLMServer,
    Planned,
    chat_completion,
    error_body,
    llm_server,
    valid_answer,
)

from workbench.config import Settings
from workbench.errors import BackendError, BackendUnavailable
from workbench.models import Segment
from workbench.rewrite.base import RewriteRequest
from workbench.rewrite.openai_backend import OpenAIBackend, check_connection
from workbench.rewrite.prompts import Prompt
from workbench.rewrite.schema import InvalidAnswer, parse_rewrite_answer

KEY = "sk-test-SECRET1234567890"
KEYWORD = "龙王归来"
NAMES = ["hook", "body", "cta"]


def make_settings(server: LLMServer, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "home": tmp_path, "llm_api_key": KEY, "llm_base_url": server.base_url,
        "llm_model": "test-model", "llm_timeout": 5.0, "llm_max_retries": 0,
    }
    return Settings(**{**values, **overrides})


def make_request(prompt: Prompt | None = None, seed: int = 7) -> RewriteRequest:
    return RewriteRequest(
        segments=[Segment("hook", "订婚宴上她被当众退婚。"), Segment("body", "三年后她回来了。"),
                  Segment("cta", f"搜索口令{KEYWORD}。")],
        keyword=KEYWORD, app="番茄小说", target_chars=300, book_title="真千金归来",
        chapter_title="第一章", prompt=prompt, seed=seed,
    )


def all_exception_text(exc: BaseException) -> str:
    """str/repr of the exception and of everything chained to it, plus the formatted traceback."""
    parts = ["".join(traceback.format_exception(exc))]
    seen: BaseException | None = exc
    while seen is not None:
        parts += [str(seen), repr(seen), repr(getattr(seen, "__dict__", ""))]
        seen = seen.__cause__ or seen.__context__
    return "\n".join(parts)


@pytest.fixture
def settings_for(llm_server: LLMServer, tmp_path: Path):
    return lambda **kw: make_settings(llm_server, tmp_path, **kw)


# Happy path ---------------------------------------------------------------------------------
def test_valid_answer_and_request_shape(llm_server: LLMServer, settings_for) -> None:
    llm_server.plan_reply(valid_answer(NAMES, KEYWORD))
    result = OpenAIBackend(settings_for()).rewrite(make_request())

    assert [s.name for s in result.segments] == NAMES
    assert KEYWORD in result.segments[-1].text
    assert result.hashtags == ["小说推荐", "爽文", "逆袭"]  # leading '#' stripped
    [sent] = llm_server.chat_requests
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.body["model"] == "test-model"
    assert sent.body["response_format"] == {"type": "json_object"}
    assert sent.body["seed"] == 7
    assert sent.body["temperature"] == 0.8  # from prompts/narration.md
    assert [m["role"] for m in sent.messages] == ["system", "user"]
    assert "JSON" in sent.messages[0]["content"]
    assert KEYWORD in sent.messages[1]["content"] and "[cta]" in sent.messages[1]["content"]


def test_request_prompt_wins_over_fallback(llm_server: LLMServer, settings_for,
                                           tmp_path: Path) -> None:
    def prompt(system: str, temperature: float) -> Prompt:
        user = "口令：{{ keyword }}\n{% for s in segments %}[{{ s.name }}]\n{{ s.text }}\n{% endfor %}"
        return Prompt(id=system, name=system, version="1", description="", system=system,
                      user=user, temperature=temperature, path=tmp_path / "p.md")

    backend = OpenAIBackend(settings_for(), prompt_fallback=prompt("FALLBACK", 0.1))
    backend.rewrite(make_request())
    backend.rewrite(make_request(prompt=prompt("OWN", 0.3)))
    first, second = llm_server.chat_requests
    assert first.messages[0]["content"] == "FALLBACK" and first.body["temperature"] == 0.1
    assert second.messages[0]["content"] == "OWN" and second.body["temperature"] == 0.3


def test_local_server_without_key_sends_placeholder(llm_server: LLMServer,
                                                    settings_for) -> None:
    OpenAIBackend(settings_for(llm_api_key=None)).rewrite(make_request())
    assert llm_server.chat_requests[0].headers["authorization"] == "Bearer not-needed"


# Repair round -------------------------------------------------------------------------------
def test_invalid_json_then_valid_is_repaired(llm_server: LLMServer, settings_for) -> None:
    llm_server.plan_reply("好的，这是改写：{segments: 坏掉的")
    llm_server.plan_reply(valid_answer(NAMES, KEYWORD))
    result = OpenAIBackend(settings_for()).rewrite(make_request())

    assert result.segments[0].name == "hook"
    first, second = llm_server.chat_requests
    assert [m["role"] for m in second.messages] == ["system", "user", "assistant", "user"]
    assert second.messages[:2] == first.messages
    assert second.messages[2]["content"] == "好的，这是改写：{segments: 坏掉的"
    assert "JSON" in second.messages[3]["content"] and "只输出" in second.messages[3]["content"]


def test_invalid_twice_is_an_error_after_two_requests(llm_server: LLMServer,
                                                      settings_for) -> None:
    llm_server.plan_reply("not json")
    llm_server.plan_reply("still not json")
    with pytest.raises(BackendError, match="已重试一次") as info:
        OpenAIBackend(settings_for()).rewrite(make_request())
    assert len(llm_server.chat_requests) == 2
    assert "\n" not in str(info.value)


def test_truncated_answer_says_so(llm_server: LLMServer, settings_for) -> None:
    cut = valid_answer(NAMES, KEYWORD)[:60]
    llm_server.plan_reply(cut, finish_reason="length")
    llm_server.plan_reply(cut, finish_reason="length")
    backend = OpenAIBackend(settings_for())
    with pytest.raises(BackendError, match="截断"):
        backend.rewrite(make_request())
    assert "截断" in llm_server.chat_requests[1].messages[-1]["content"]
    backend.close()
    backend.rewrite(make_request())  # a fresh client after close()


def _without_cta() -> str:
    data = json.loads(valid_answer(NAMES, KEYWORD))
    data["segments"] = data["segments"][:2]
    return json.dumps(data, ensure_ascii=False)


def _with_texts(**texts: str) -> str:
    """A valid answer with some segments' text replaced (e.g. by one far too long)."""
    data = json.loads(valid_answer(NAMES, KEYWORD))
    for item in data["segments"]:
        item["text"] = texts.get(item["name"], item["text"])
    return json.dumps(data, ensure_ascii=False)


@pytest.mark.parametrize(("bad", "reason_part"), [
    (_without_cta(), "hook, body, cta"),
    (valid_answer(["opening", "body", "cta"], KEYWORD), "hook, body, cta"),
    (valid_answer(NAMES, KEYWORD, hashtags=[f"标签{i}" for i in range(10)]), "实际 10 个"),
    (valid_answer(NAMES, "别的口令"), KEYWORD),
    (_with_texts(body="夜渡。" * 66_667), "segments[1].text 不能超过 4050 个字"),
    (_with_texts(hook="夜渡。" * 1350, body="夜渡。" * 1350), "全文共 8122 个字，不能超过 8100 个字"),
])
def test_schema_invalid_answers_take_the_repair_path(
    llm_server: LLMServer, settings_for, bad: str, reason_part: str,
) -> None:
    llm_server.plan_reply(bad)
    llm_server.plan_reply(valid_answer(NAMES, KEYWORD))
    OpenAIBackend(settings_for()).rewrite(make_request())
    assert len(llm_server.chat_requests) == 2
    assert reason_part in llm_server.chat_requests[1].messages[-1]["content"]


# Retries, timeouts, server quirks -----------------------------------------------------------
def test_rate_limit_is_retried_by_the_sdk_after_retry_after(llm_server: LLMServer,
                                                            settings_for) -> None:
    llm_server.plan(Planned(status=429, body=error_body("Rate limit reached", type="requests"),
                            headers={"Retry-After": "1"}))
    started = time.monotonic()
    OpenAIBackend(settings_for(llm_max_retries=2)).rewrite(make_request())
    elapsed = time.monotonic() - started

    first, second = llm_server.chat_requests
    assert second.at - first.at >= 0.95 and elapsed >= 0.95
    assert second.headers["x-stainless-retry-count"] == "1"


def test_rate_limit_after_retries_says_wait(llm_server: LLMServer, settings_for) -> None:
    llm_server.plan(*[Planned(status=429, body=error_body("Rate limit reached"),
                              headers={"Retry-After": "0.05"}) for _ in range(2)])
    with pytest.raises(BackendError, match="429") as info:
        OpenAIBackend(settings_for(llm_max_retries=1)).rewrite(make_request())
    assert "再试" in str(info.value)
    assert len(llm_server.chat_requests) == 2


def test_timeout_is_reported_quickly(llm_server: LLMServer, settings_for) -> None:
    llm_server.plan(Planned(body={"late": True}, delay=3.0))
    started = time.monotonic()
    with pytest.raises(BackendError, match="超时") as info:
        OpenAIBackend(settings_for(llm_timeout=0.5, llm_max_retries=0)).rewrite(make_request())
    assert time.monotonic() - started < 1.5
    assert "0.5 秒" in str(info.value) and "WORKBENCH_LLM_TIMEOUT" in str(info.value)


def test_response_format_rejected_retries_without_it(llm_server: LLMServer,
                                                     settings_for) -> None:
    llm_server.plan_error(400, "response_format json_object is not supported by this model",
                          param="response_format")
    backend = OpenAIBackend(settings_for())
    backend.rewrite(make_request())
    backend.rewrite(make_request())  # remembered: no second 400 round trip

    first, second, third = llm_server.chat_requests
    assert first.body["response_format"] == {"type": "json_object"}
    assert "response_format" not in second.body and "response_format" not in third.body


def test_other_bad_request_is_not_retried(llm_server: LLMServer, settings_for) -> None:
    llm_server.plan_error(400, "messages too long")
    with pytest.raises(BackendError, match="400.*messages too long"):
        OpenAIBackend(settings_for()).rewrite(make_request())
    assert len(llm_server.chat_requests) == 1


def test_model_not_found_names_the_model(llm_server: LLMServer, settings_for) -> None:
    llm_server.plan_error(404, "The model `nope-7b` does not exist", code="model_not_found")
    with pytest.raises(BackendError) as info:
        OpenAIBackend(settings_for(llm_model="nope-7b")).rewrite(make_request())
    message = str(info.value)
    assert "nope-7b" in message and "WORKBENCH_LLM_MODEL" in message
    assert llm_server.base_url in message


def test_connection_refused_is_clear(tmp_path: Path) -> None:
    with LLMServer() as closed:
        url = closed.base_url
    settings = Settings(home=tmp_path, llm_api_key=KEY, llm_base_url=url, llm_max_retries=0)
    started = time.monotonic()
    with pytest.raises(BackendError, match="无法连接") as info:
        OpenAIBackend(settings).rewrite(make_request())
    assert url in str(info.value) and "OPENAI_BASE_URL" in str(info.value)
    assert time.monotonic() - started < 2


# Secrets ------------------------------------------------------------------------------------
def test_unauthorized_never_leaks_the_key(llm_server: LLMServer, settings_for,
                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    # Servers do echo keys back; the error must not repeat it.
    llm_server.plan_error(401, f"Incorrect API key provided: {KEY}.", code="invalid_api_key")
    backend = OpenAIBackend(settings_for())
    with pytest.raises(BackendError) as info:
        backend.rewrite(make_request())

    assert "OPENAI_API_KEY" in str(info.value)
    text = all_exception_text(info.value)
    assert KEY not in text and "SECRET" not in text
    assert info.value.__cause__ is None and info.value.__context__ is None
    assert KEY not in caplog.text and KEY not in repr(backend)
    assert "model=test-model" in caplog.text  # our own log line: model, host, no key


def test_server_text_in_errors_is_redacted(llm_server: LLMServer, settings_for) -> None:
    llm_server.plan_error(418, f"teapot refuses key {KEY}")
    with pytest.raises(BackendError, match="418") as info:
        OpenAIBackend(settings_for()).rewrite(make_request())
    assert "SECRET" not in all_exception_text(info.value)


def test_not_configured_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(BackendUnavailable, match="OPENAI_API_KEY"):
        OpenAIBackend(Settings(home=tmp_path))


# check_connection ---------------------------------------------------------------------------
def test_check_connection(llm_server: LLMServer, settings_for) -> None:
    line = check_connection(settings_for())
    assert line.startswith("连接正常") and "test-model" in line
    llm_server.plan_error(401, "bad key")
    with pytest.raises(BackendError, match="OPENAI_API_KEY"):
        check_connection(settings_for())


# parse_rewrite_answer (shared with the rules backend) ---------------------------------------
def test_parse_tolerates_fences_prose_and_think_blocks() -> None:
    answer = valid_answer(NAMES, KEYWORD)
    for text in (f"```json\n{answer}\n```", f"好的！{{注意}}下面是结果：\n{answer}\n以上。",
                 f"<think>先想想 {{x}}</think>{answer}"):
        assert parse_rewrite_answer(text, NAMES, keyword=KEYWORD).title


def test_parse_title_is_trimmed_a_little_and_rejected_a_lot() -> None:
    slightly = "重生归来她让全家后悔莫及，渣男跪求原谅也没用了，真千金杀疯了啊"  # 31 chars
    result = parse_rewrite_answer(valid_answer(NAMES, title=slightly), NAMES)
    assert result.title == "重生归来她让全家后悔莫及，渣男跪求原谅也没用了"
    with pytest.raises(InvalidAnswer, match="title 有 40 个字"):
        parse_rewrite_answer(valid_answer(NAMES, title="长" * 40), NAMES)


def test_parse_hashtags_are_cleaned_and_counted() -> None:
    result = parse_rewrite_answer(valid_answer(NAMES, hashtags=["#甲", "＃乙#", " 丙 "]), NAMES)
    assert result.hashtags == ["甲", "乙", "丙"]
    with pytest.raises(InvalidAnswer, match="去重后只剩 2 个"):
        parse_rewrite_answer(valid_answer(NAMES, hashtags=["#甲", "甲", "乙"]), NAMES)


def test_parse_reasons_are_short_and_do_not_echo_the_answer() -> None:
    with pytest.raises(InvalidAnswer) as info:
        parse_rewrite_answer(json.dumps({"segments": "x" * 500, "title": ""}), NAMES)
    assert len(info.value.reason) < 120 and "xxxx" not in info.value.reason
    with pytest.raises(InvalidAnswer, match="完整"):
        parse_rewrite_answer(valid_answer(NAMES)[:-40], NAMES)  # cut off mid-answer


# Hostile answers: a total deadline, a size cap, garbage ------------------------------------
def _llm_call_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "llm-call" and t.is_alive()]


@pytest.mark.timeout(60)
def test_a_dripping_server_meets_the_total_deadline(llm_server: LLMServer, settings_for) -> None:
    # one byte every 2 s: no single read ever waits 5 s, so only the deadline can stop it
    llm_server.plan(*[Planned(body=chat_completion(valid_answer(NAMES, KEYWORD)), drip=2.0)] * 3)
    started = time.monotonic()
    with pytest.raises(BackendError, match="总时限") as info:
        OpenAIBackend(settings_for(llm_timeout=5.0, llm_deadline=3.0, llm_max_retries=2)
                      ).rewrite(make_request())
    elapsed = time.monotonic() - started
    assert 2.9 < elapsed < 4.5, elapsed
    assert "3 秒" in str(info.value) and "WORKBENCH_LLM_DEADLINE" in str(info.value)
    assert len(llm_server.chat_requests) == 1  # not retried
    # the abandoned request stops at its next byte, it does not drip on in the background
    stop_by = time.monotonic() + 5
    while _llm_call_threads() and time.monotonic() < stop_by:
        time.sleep(0.1)
    assert not _llm_call_threads()


@pytest.mark.timeout(60)
def test_retry_waits_count_against_the_deadline(llm_server: LLMServer, settings_for) -> None:
    # the SDK honours Retry-After up to 60 s per retry; the deadline still ends the call
    llm_server.plan(*[Planned(status=503, body=error_body("busy"),
                              headers={"Retry-After": "30"})] * 3)
    started = time.monotonic()
    with pytest.raises(BackendError, match="总时限"):
        OpenAIBackend(settings_for(llm_deadline=2.0, llm_max_retries=2)).rewrite(make_request())
    assert time.monotonic() - started < 3.0


@pytest.mark.timeout(60)
def test_a_huge_answer_is_cut_off_early_and_memory_stays_small(llm_server: LLMServer,
                                                                 settings_for) -> None:
    llm_server.plan(Planned(huge=50_000_000))
    backend = OpenAIBackend(settings_for(llm_max_retries=2))
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(BackendError, match="超过 4 MB，已停止读取"):
            backend.rewrite(make_request())
        peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 10
    assert peak_mb < 40, peak_mb  # the cap, its chunks, and no 50 MB answer
    assert len(llm_server.chat_requests) == 1  # not retried
    assert llm_server.bytes_sent < 20_000_000, llm_server.bytes_sent


@pytest.mark.timeout(60)
def test_a_compressed_bomb_is_counted_decompressed(llm_server: LLMServer, settings_for) -> None:
    packer = zlib.compressobj(wbits=31)  # gzip
    bomb = packer.compress(b'{"choices": [{"message": {"content": "')
    bomb += b"".join(packer.compress(b"a" * 1_000_000) for _ in range(50)) + packer.flush()
    assert len(bomb) < 200_000  # 50 MB once inflated
    llm_server.plan(Planned(body=bomb, headers={"Content-Type": "application/json",
                                                 "Content-Encoding": "gzip"}))
    tracemalloc.start()
    try:
        with pytest.raises(BackendError, match="超过 4 MB"):
            OpenAIBackend(settings_for()).rewrite(make_request())
        peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()
    assert peak_mb < 40, peak_mb


def test_a_gzipped_answer_still_works(llm_server: LLMServer, settings_for) -> None:
    body = json.dumps(chat_completion(valid_answer(NAMES, KEYWORD)), ensure_ascii=False)
    llm_server.plan(Planned(body=gzip.compress(body.encode()),
                            headers={"Content-Type": "application/json",
                                     "Content-Encoding": "gzip"}))
    result = OpenAIBackend(settings_for()).rewrite(make_request())
    assert [s.name for s in result.segments] == NAMES


@pytest.mark.parametrize(("body", "message"), [
    (bytes(range(256)) * 4, "不是 UTF-8 文本"),
    (b"<html><body>502 Bad Gateway</body></html>", "不是 JSON（开头是：'<html><body>502"),
    (b"", "不是 JSON"),
])
def test_garbage_is_a_clear_error(llm_server: LLMServer, settings_for, body: bytes,
                                  message: str) -> None:
    llm_server.plan(Planned(body=body, headers={"Content-Type": "application/json"}))
    with pytest.raises(BackendError) as info:
        OpenAIBackend(settings_for()).rewrite(make_request())
    assert message in str(info.value) and "OPENAI_BASE_URL" in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(("body", "message"), [
    ([1, 2, 3], "没有 choices"),
    ({"choices": "nope"}, "没有 choices"),
    ({"choices": []}, "没有 choices"),
    ({"choices": ["text"]}, "没有 message 对象"),
    ({"choices": [{"message": "hi"}]}, "没有 message 对象"),
    ({"choices": [{"message": {"content": {"segments": []}}}]}, "message.content 应为文本"),
])
def test_a_wrongly_shaped_answer_is_a_clear_error(llm_server: LLMServer, settings_for,
                                                  body: Any, message: str) -> None:
    llm_server.plan(Planned(body=body))
    with pytest.raises(BackendError, match="格式不对") as info:
        OpenAIBackend(settings_for()).rewrite(make_request())
    assert message in str(info.value)


@pytest.mark.timeout(60)
def test_check_connection_has_the_deadline_too(llm_server: LLMServer, settings_for) -> None:
    llm_server.plan(Planned(body=chat_completion("OK"), drip=2.0))
    started = time.monotonic()
    with pytest.raises(BackendError, match="总时限"):
        check_connection(settings_for(llm_deadline=1.0))
    assert time.monotonic() - started < 2.5
