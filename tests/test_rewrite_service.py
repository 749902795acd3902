from dataclasses import replace

import pytest

from workbench.config import PROJECT_ROOT
from workbench.errors import InputError, TemplateError
from workbench.models import Segment
from workbench.rewrite.base import RewriteRequest, RewriteResult
from workbench.rewrite.prompts import get_prompt, list_prompts, load_prompt
from workbench.rewrite.registry import resolve_backend
from workbench.rewrite.rules import RulesBackend
from workbench.rewrite.service import rewrite_cache_key, rewrite_cached
from workbench.store.cache import StageCache

REQ = RewriteRequest(
    segments=[Segment("hook", "她回来了。"), Segment("body", "三年前的那场火，烧掉了一切。"),
              Segment("cta", "番茄小说搜索【夜渡】。")],
    keyword="夜渡", app="番茄小说", target_chars=200,
)


def test_auto_picks_rules_offline_and_openai_when_configured(settings):
    offline = resolve_backend("auto", settings)
    assert offline.backend.name == "rules" and "OPENAI_API_KEY" in offline.reason
    online = resolve_backend("auto", replace(settings, llm_base_url="http://127.0.0.1:9/v1"))
    assert online.backend.name == "openai" and "openai" in online.reason
    with pytest.raises(InputError, match="rules"):
        resolve_backend("gpt", settings)


def test_cache_key_covers_the_endpoint(settings):
    from workbench.rewrite.openai_backend import OpenAIBackend

    a = OpenAIBackend(replace(settings, llm_base_url="http://127.0.0.1:9/v1", llm_api_key="sk-1"))
    b = OpenAIBackend(replace(settings, llm_base_url="http://127.0.0.2:9/v1", llm_api_key="sk-1"))
    assert a.model == b.model and a.endpoint != b.endpoint
    assert rewrite_cache_key(REQ, a) != rewrite_cache_key(REQ, b)
    assert "sk-1" not in a.endpoint


def test_cache_key_covers_input_prompt_backend_and_params(settings):
    backend = RulesBackend()
    prompt = get_prompt("narration", settings.prompt_dirs)
    base = rewrite_cache_key(REQ, backend)
    assert base == rewrite_cache_key(replace(REQ), backend)
    for changed in (replace(REQ, keyword="别的"), replace(REQ, seed=1),
                    replace(REQ, target_chars=100), replace(REQ, prompt=prompt),
                    replace(REQ, instruction="更口语")):
        assert rewrite_cache_key(changed, backend) != base


class CountingBackend(RulesBackend):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0  # per instance: a class counter would carry over into a second run

    def rewrite(self, request):
        self.calls += 1
        return RewriteResult(segments=[Segment("hook", "嗯。"), Segment("body", "正文。"),
                                       Segment("cta", "去搜吧。")],
                             title="t", caption="c", hashtags=["a", "b", "c"])


def test_cached_rewrite_calls_backend_once_and_keeps_keyword(db):
    cache = StageCache(db)
    backend = CountingBackend()
    first, hit1 = rewrite_cached(REQ, backend, cache)
    second, hit2 = rewrite_cached(REQ, CountingBackend(), cache)  # a fresh backend, same key
    assert (hit1, hit2, backend.calls) == (False, True, 1)
    # the backend dropped the keyword from the cta: the template's cta is restored
    assert first.segments[2].text == "番茄小说搜索【夜渡】。" == second.segments[2].text


def test_bundled_prompt_and_bad_prompts(tmp_path):
    prompt = get_prompt("narration", [PROJECT_ROOT / "prompts"])
    user = prompt.render_user(segments=REQ.segments, keyword="夜渡", app="番茄小说",
                              target_chars=200, book_title="", chapter_title="", instruction="")
    assert "[hook]" in user and "夜渡" in user
    assert [p.id for p in list_prompts([PROJECT_ROOT / "prompts"])] == ["drama-narration",
                                                                    "narration"]
    bad = tmp_path / "bad.md"
    bad.write_text("---\nid: bad\nname: 坏\n---\n## system\n只有系统段\n", encoding="utf-8")
    with pytest.raises(TemplateError, match="## user"):
        load_prompt(bad)
    with pytest.raises(InputError, match="narration"):
        get_prompt("nope", [PROJECT_ROOT / "prompts"])
