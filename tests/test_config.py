from pathlib import Path

import pytest

from workbench.config import load_settings, mask_secret
from workbench.errors import InputError


def test_defaults_home_under_cwd(tmp_path, monkeypatch):
    monkeypatch.delenv("WORKBENCH_HOME")
    s = load_settings()
    assert s.home == tmp_path / ".workbench"
    assert s.db_path == tmp_path / ".workbench" / "workbench.db"
    assert s.rewrite_backend == "auto" and not s.llm_configured
    assert s.sources["home"] == "default"


def test_toml_then_env_override(tmp_path, monkeypatch):
    (tmp_path / "workbench.toml").write_text(
        'home = "data"\n[llm]\nmodel = "qwen-plus"\nbase_url = "http://127.0.0.1:9/v1"\n'
        'timeout = 12\n[script]\napp = "七猫小说"\n',
        encoding="utf-8",
    )
    monkeypatch.delenv("WORKBENCH_HOME")
    s = load_settings()
    assert s.home == tmp_path / "data"
    assert (s.llm_model, s.llm_timeout, s.app_name) == ("qwen-plus", 12.0, "七猫小说")
    assert s.sources["llm_model"] == "toml:llm.model"
    monkeypatch.setenv("WORKBENCH_LLM_MODEL", "deepseek-chat")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-abcdef1234567890")
    s = load_settings()
    assert s.llm_model == "deepseek-chat" and s.sources["llm_model"] == "env:WORKBENCH_LLM_MODEL"
    assert s.llm_configured


def test_secret_masked_everywhere(monkeypatch):
    key = "sk-live-SECRETSECRET9876"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    s = load_settings()
    assert key not in repr(s) and key not in str(s.masked())
    assert s.masked()["llm_api_key"] == mask_secret(key) == "sk-…9876"


def test_bad_values_are_clear(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_LLM_TIMEOUT", "soon")
    with pytest.raises(InputError, match="WORKBENCH_LLM_TIMEOUT"):
        load_settings()
    monkeypatch.delenv("WORKBENCH_LLM_TIMEOUT")
    monkeypatch.setenv("WORKBENCH_REWRITE_BACKEND", "gpt")
    with pytest.raises(InputError, match="auto"):
        load_settings()
    monkeypatch.delenv("WORKBENCH_REWRITE_BACKEND")
    Path("workbench.toml").write_text("[llm\n", encoding="utf-8")
    with pytest.raises(InputError, match="workbench.toml"):
        load_settings()
