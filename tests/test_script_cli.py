"""The `workbench` command end to end: the real entry point (in this process through
`cli_runner.run_cli`, and in a real subprocess for one test per command group), a real SQLite
file, a real local OpenAI-compatible server for the LLM path."""

from __future__ import annotations

import json

import pytest
import typer
from cli_runner import run_cli, run_subprocess
from conftest import SAMPLES
from llm_server import llm_server  # noqa: F401  (fixture)
from sqlite_utils import Database

from workbench.cli import app

SAMPLE_GBK = SAMPLES / "night-ferry.gbk.txt"
KEY = "sk-test-NEVERSHOWN-0123456789"


def test_every_command_has_help():
    def walk(cmd, path: str):  # typer ≥ 0.26 builds on its own copy of click: no isinstance
        assert (cmd.help or "").strip(), f"{path} has no help text"
        for p in cmd.params:
            if p.param_type_name == "option" and p.name != "help":
                assert (p.help or "").strip(), f"{path} {p.opts} has no help text"
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, f"{path} {name}")

    walk(typer.main.get_command(app), "workbench")


def test_offline_script_end_to_end(home):
    added = run_cli("material", "add", str(SAMPLE_GBK))
    assert added.returncode == 0, added.stderr
    assert "gb18030" in added.stdout.lower() or "gbk" in added.stdout.lower()
    again = run_cli("material", "add", str(SAMPLE_GBK))
    assert "已存在" in again.stdout

    shown = run_cli("material", "show", "1", "--chapter", "2")
    assert shown.returncode == 0 and "第一章" in shown.stdout

    first = run_cli("script", "--material", "1", "--chapter", "2", "--template", "suspense",
                    "--keyword", "夜渡迷局")
    assert first.returncode == 0, first.stderr
    script = json.loads(first.stdout)
    assert [s["name"] for s in script["segments"]][:1] == ["hook"]
    cta = next(s for s in script["segments"] if s["name"] == "cta")
    assert "夜渡迷局" in cta["text"]
    assert script["backend"] == "rules" and "rules" in first.stderr
    assert 0 < len(script["title"]) <= 30 and 3 <= len(script["hashtags"]) <= 6

    out_file = home.parent / "script.json"
    second = run_cli("script", "--material", "1", "--chapter", "2", "--template", "suspense",
                     "--keyword", "夜渡迷局", "--out", str(out_file))
    assert second.returncode == 0 and "缓存" in second.stderr
    saved = json.loads(out_file.read_text(encoding="utf-8"))
    assert saved["segments"] == script["segments"] and saved["cached"] is True

    db = Database(home / "workbench.db")
    jobs = list(db["jobs"].rows_where(order_by="id"))
    assert [(j["status"], j["cache_hit"]) for j in jobs] == [("done", 0), ("done", 1)]
    assert db["materials"].count == 1

    listed = run_cli("jobs")  # both runs recorded, the cached one marked
    assert listed.returncode == 0 and listed.stdout.count("script") == 2
    assert "是" in listed.stdout  # 缓存: 是
    prompts = run_cli("prompts")
    assert prompts.returncode == 0 and "narration" in prompts.stdout


def test_llm_script_is_cached_with_zero_backend_calls(home, llm_server):  # noqa: F811
    assert run_cli("material", "add", str(SAMPLE_GBK)).returncode == 0
    env = {"OPENAI_BASE_URL": llm_server.base_url, "OPENAI_API_KEY": KEY,
           "WORKBENCH_LLM_MODEL": "test-model"}
    args = ("script", "--material", "1", "--chapter", "3", "--template", "emotional",
            "--keyword", "夜渡迷局", "--app", "七猫小说")
    first = run_cli(*args, env=env)
    assert first.returncode == 0, first.stderr
    assert "openai" in first.stderr and len(llm_server.chat_requests) == 1
    sent = llm_server.chat_requests[0]
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert "夜渡迷局" in sent.text() and "七猫小说" in sent.text()

    second = run_cli(*args, env=env)
    assert second.returncode == 0 and "缓存" in second.stderr
    assert len(llm_server.chat_requests) == 1, "the second identical run must not call the LLM"
    assert json.loads(second.stdout)["segments"] == json.loads(first.stdout)["segments"]

    # a different keyword is a different input: one more call
    assert run_cli(*args[:-4], "--keyword", "另一个口令", "--app", "七猫小说",
                   env=env).returncode == 0
    assert len(llm_server.chat_requests) == 2

    for text in (first.stdout, first.stderr, second.stdout, second.stderr):
        assert KEY not in text
    dump = "\n".join(Database(home / "workbench.db").iterdump())
    assert KEY not in dump


def test_errors_are_one_clear_line_and_store_nothing(home, tmp_path):
    """Subprocess smoke test of `material` and `script`: main()'s error line in a real process."""
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    result = run_subprocess("material", "add", str(empty))
    assert result.returncode == 1
    assert result.stderr.startswith("错误:") and "empty.txt" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) <= 2

    missing = run_subprocess("script", "--material", "7", "--chapter", "1", "--template",
                             "suspense", "--keyword", "夜渡迷局")
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert "7" in missing.stderr
    db = Database(home / "workbench.db")
    assert db["materials"].count == 0 and db["chapters"].count == 0


def test_config_masks_the_key(home):
    """Subprocess smoke test of `config`."""
    result = run_subprocess("config", "--json", env={"OPENAI_API_KEY": KEY})
    assert result.returncode == 0
    shown = json.loads(result.stdout)
    assert KEY not in result.stdout and shown["llm_api_key"].endswith("6789")
    assert shown["home"] == str(home)


@pytest.mark.parametrize("name", ["suspense", "emotional", "comeback"])
def test_template_render_cli(home, name):
    assert run_cli("material", "add", str(SAMPLE_GBK)).returncode == 0
    result = run_cli("template", "render", name, "--material", "1", "--chapter", "2",
                     "--keyword", "夜渡迷局")
    assert result.returncode == 0, result.stderr
    segments = json.loads(result.stdout)["segments"]
    assert segments[0]["name"] == "hook"
    assert "夜渡迷局" in next(s["text"] for s in segments if s["name"] == "cta")


def test_template_lint_exit_codes(tmp_path):
    from conftest import PROJECT_ROOT

    bad = tmp_path / "bad.j2"
    bad.write_text(
        "---\nid: bad\nname: 坏\nkind: novel\nversion: 1\ntarget_seconds: 60\n---\n"
        "{% block hook %}{{ chapter_text|first_sentence }}{% endblock %}\n"
        "{% block body %}{{ mystery }}{{ ''.__class__ }}{% endblock %}\n"
        "{% block cta %}{{ app }}搜索【{{ keyword }}】{% endblock %}\n",
        encoding="utf-8",
    )
    result = run_subprocess("template", "lint", str(bad))  # smoke test of `template`
    assert result.returncode == 1
    assert f"{bad}:9:" in result.stderr and "__class__" in result.stderr
    assert "mystery" in result.stderr
    templates = sorted((PROJECT_ROOT / "templates").glob("*.j2"))
    good = run_subprocess("template", "lint", *map(str, templates))
    assert good.returncode == 0, good.stderr + good.stdout


def test_backend_options_mean_one_thing():
    """`--rewrite-backend` and `--voice-backend` wherever a command takes them; the old
    `--backend` only as a hidden alias."""
    commands = typer.main.get_command(app).commands
    shown = {name: {o for p in commands[name].params if not getattr(p, "hidden", False)
                    for o in p.opts if "backend" in o}
             for name in ("script", "make", "voice", "voices")}
    assert shown == {"script": {"--rewrite-backend"},
                     "make": {"--rewrite-backend", "--voice-backend"},
                     "voice": {"--voice-backend"}, "voices": {"--voice-backend"}}
    for name in shown:
        assert any(p.opts == ["--backend"] and p.hidden for p in commands[name].params)


def test_rewrite_backend_and_the_deprecated_backend_spelling(home):
    assert run_cli("material", "add", str(SAMPLE_GBK)).returncode == 0
    args = ("script", "--material", "1", "--chapter", "2", "--template", "suspense",
            "--keyword", "夜渡迷局")
    new = run_cli(*args, "--rewrite-backend", "rules")
    assert new.returncode == 0, new.stderr
    assert json.loads(new.stdout)["backend"] == "rules" and "弃用" not in new.stderr
    old = run_cli(*args, "--backend", "rules")
    assert old.returncode == 0, old.stderr
    assert json.loads(old.stdout)["segments"] == json.loads(new.stdout)["segments"]
    assert "--backend 已弃用，请改用 --rewrite-backend" in old.stderr
    both = run_cli(*args, "--backend", "rules", "--rewrite-backend", "openai")
    assert both.returncode == 2 and "矛盾" in both.stderr and "Traceback" not in both.stderr


def test_usage_errors_are_short(home):
    result = run_cli("voice", "--no-such-option")
    assert result.returncode == 2 and "No such option" in result.stderr
    assert "Traceback" not in result.stderr
