import ast
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from workbench.config import OPTIONS, PROJECT_ROOT, Settings, load_settings, mask_secret
from workbench.errors import InputError
from workbench.render.profiles import PROFILES
from workbench.rewrite import registry as rewrite_registry
from workbench.settings_file import save_settings, settings_path
from workbench.transcribe import registry as transcribe_registry
from workbench.voice import registry as voice_registry


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


# One declaration per setting --------------------------------------------------------------
def test_the_option_table_is_derived_from_the_settings_fields():
    declared = {f.name: f for f in fields(Settings) if f.metadata}
    assert [o.name for o in OPTIONS] == list(declared)  # in declaration order, none missing
    for option in OPTIONS:  # the default is the field's, written once
        assert option.default == declared[option.name].default
    assert Settings() == Settings(**{o.name: o.default for o in OPTIONS})
    for attr in ("name", "env", "toml_key"):
        values = [getattr(o, attr) for o in OPTIONS]
        assert len(values) == len(set(values)), f"duplicate {attr}"
    kinds = {o.name: o.kind for o in OPTIONS}
    assert (kinds["home"], kinds["banned_words_file"], kinds["llm_api_key"]) == (Path, Path, str)
    assert (kinds["voice_fallback"], kinds["edge_retries"], kinds["loudness"]) == (
        bool, int, float)
    assert {o.name for o in OPTIONS if o.secret} == {"llm_api_key", "transcribe_api_key",
                                                  "images_api_key"}


@pytest.mark.parametrize(("env", "choices", "label"), [
    ("WORKBENCH_REWRITE_BACKEND", rewrite_registry.CHOICES, "改写后端"),
    ("WORKBENCH_VOICE_BACKEND", voice_registry.CHOICES, "配音后端"),
    ("WORKBENCH_TRANSCRIBE_BACKEND", transcribe_registry.CHOICES, "语音识别后端"),
    ("WORKBENCH_RENDER_PROFILE", tuple(PROFILES), "输出规格"),
])
def test_backend_and_profile_names_are_checked_against_their_registries(
        monkeypatch, env, choices, label):
    for name in choices:
        monkeypatch.setenv(env, name)
        assert getattr(load_settings(), {o.env: o.name for o in OPTIONS}[env]) == name
    monkeypatch.setenv(env, "nope")
    with pytest.raises(InputError) as caught:
        load_settings()
    assert str(caught.value) == f"未知的{label}: nope（可选 {'、'.join(choices)}）"


def test_the_web_app_cannot_save_an_unknown_backend(settings):
    with pytest.raises(InputError, match="未知的配音后端: nope"):
        save_settings(settings, {"voice_backend": "nope"})
    assert not settings_path(settings).exists()


# No import cycle: config depends on the registries, settings_file on config ----------------
def _top_level_imports(path: Path) -> set[str]:
    """workbench modules a module imports when it is imported (not inside functions, not under
    `if TYPE_CHECKING:`)."""
    found: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
                found.update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.If):
                if "TYPE_CHECKING" not in ast.unparse(node.test):
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for handler in node.handlers:
                    visit(handler.body)

    visit(ast.parse(path.read_text(encoding="utf-8")).body)
    return found


def _module_graph() -> dict[str, set[str]]:
    paths = {}
    for path in (PROJECT_ROOT / "workbench").rglob("*.py"):
        parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
        paths[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return {name: {m for m in _top_level_imports(path) if m in paths}
            for name, path in paths.items()}


def test_config_is_not_part_of_an_import_cycle():
    graph = _module_graph()
    seen: set[str] = set()
    todo = list(graph["workbench.config"])
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(graph[name])
    assert "workbench.rewrite.registry" in seen and "workbench.voice.registry" in seen
    assert "workbench.transcribe.registry" in seen
    assert "workbench.config" not in seen
    assert "workbench.settings_file" not in seen


@pytest.mark.parametrize("module", ["workbench.config", "workbench.settings_file",
                                    "workbench.rewrite.registry", "workbench.voice.registry",
                                    "workbench.transcribe.registry",
                                    "workbench.models"])
def test_each_settings_module_imports_on_its_own(module):
    code = (f"import sys, {module}\n"
            "assert 'workbench.settings_file' not in sys.modules or "
            f"{module!r} == 'workbench.settings_file'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PROJECT_ROOT)
