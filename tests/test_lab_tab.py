"""The 模板实验室 tab's handlers without a browser, on a real store with the sample novel: the
editor's lint and save (refused with lint's errors), 试用 and 对比 (escaped HTML with the
differences marked), 版本 (table, download, back into the editor, import), 收益 (chart, table,
filters) and the lists the tab reads. The browser drives the same handlers in
test_browser_lab.py."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import pytest
from conftest import SAMPLES
from drama_fixtures import sample_drama  # noqa: F401  (fixture)
from lab_fixtures import two_tasks_published

from workbench.lab.versions import list_versions
from workbench.materials.drama import add_drama
from workbench.materials.library import add_material
from workbench.ui import lab_earnings, lab_editor, lab_tab, lab_trials

KEYWORD = "夜渡迷局"
SUSPENSE = "template:suspense"


@pytest.fixture
def novel(db) -> int:
    material, _ = add_material(db, SAMPLES / "night-ferry.txt")
    return int(material["id"])


def loaded(source: str = SUSPENSE, version: str = "") -> str:
    text, kind, status, _save = lab_editor.load_source(source, version, None)
    assert kind == lab_editor.TEMPLATE and "已载入模板" in status
    return text


def with_cta(text: str, words: str) -> str:
    """The template with `words` said right after the keyword in its cta."""
    assert "】" in text
    at = text.rindex("】") + 1
    return text[:at] + words + text[at:]


def material_args(novel: int) -> list:
    return [novel, 2, "", KEYWORD, "rules", "narration"]


# 编辑 ----------------------------------------------------------------------------------------
def test_lists_offer_templates_prompts_versions_and_the_editor(settings, db):
    values = [value for _, value in lab_editor.source_choices(settings)]
    assert SUSPENSE in values and "prompt:narration" in values
    source, try_refs, compare_refs, ids, *_ = lab_tab.refresh(None)
    assert SUSPENSE in [value for _, value in source.choices]
    tried = [value for _, value in try_refs.choices]
    assert tried[0] == lab_trials.EDITOR and "suspense" in tried and "suspense@2" in tried
    assert compare_refs.choices == try_refs.choices
    assert "suspense" in [value for _, value in ids.choices]
    # the bundled files were recorded as their own versions, so packages match by hash
    assert [v.version for v in list_versions(db, "suspense")] == [2]


def test_a_planted_mistake_is_found_with_its_line_and_saving_is_refused(settings, db):
    text = loaded()
    summary, table = lab_editor.lint_editor(text, lab_editor.TEMPLATE)
    assert "错误" not in summary or summary.startswith("没有错误")
    broken = text.replace("{% endblock %}", "{{ nosuchvar }}{% endblock %}", 1)
    line = broken[:broken.index("nosuchvar")].count("\n") + 1
    summary, table = lab_editor.lint_editor(broken, lab_editor.TEMPLATE)
    assert "1 个错误" in summary and f"第 {line}" in summary
    row = table[table["说明"].str.contains("nosuchvar")].iloc[0]
    assert (row["行"], row["类型"], row["级别"]) == (line, "变量", "错误")
    with pytest.raises(gr.Error, match="nosuchvar") as refused:
        lab_editor.save_editor(broken, lab_editor.TEMPLATE, "坏的", None)
    assert str(settings.home) not in refused.value.message
    assert [v.version for v in list_versions(db, "suspense")] == [2]  # nothing stored
    assert not (settings.home / "templates" / "suspense.j2").exists()


def test_a_fixed_template_is_saved_as_the_next_version_and_made_active(settings, db):
    text = with_cta(loaded(), "，快去看结局")
    message, source, version = lab_editor.save_editor(text, lab_editor.TEMPLATE, "结尾更长", None)
    assert "已保存为 **suspense@3**" in message and source.value == SUSPENSE
    assert version.value == "3" and ("v3" in version.choices[1][0])
    saved = list_versions(db, "suspense")[-1]
    assert (saved.version, saved.note) == (3, "结尾更长") and "version: 3" in saved.source
    assert (settings.home / "templates" / "suspense.j2").read_text("utf-8") == saved.source
    # the same text again (whatever its version line says) makes nothing new
    message, *_ = lab_editor.save_editor(text, lab_editor.TEMPLATE, "", None)
    assert "相同，没有新增版本" in message and len(list_versions(db, "suspense")) == 2
    # and the old version loads as it was
    assert "，快去看结局" not in loaded(SUSPENSE, "2") and "version: 2" in loaded(SUSPENSE, "2")


def test_a_prompt_is_linted_but_has_no_versions(settings):
    versions = lab_editor.pick_source("prompt:narration")
    assert versions.interactive is False
    text, kind, status, save = lab_editor.load_source("prompt:narration", "", None)
    assert kind == lab_editor.PROMPT and save.interactive is False and "## user" in text
    assert "提示词没有版本库" in status
    summary, _ = lab_editor.lint_editor(text, kind)
    assert "错误" not in summary or summary.startswith("没有错误")
    summary, table = lab_editor.lint_editor(text + "\n{{ secret_var }}\n", kind)
    assert "1 个错误" in summary and "secret_var" in " ".join(table["说明"])
    with pytest.raises(gr.Error, match="提示词没有版本库"):
        lab_editor.save_editor(text, kind, "", None)
    with pytest.raises(gr.Error, match="请先从列表里选择"):
        lab_editor.load_source("../../etc/passwd", "", None)


# 试用 and 对比 -------------------------------------------------------------------------------
def test_a_trial_shows_every_segments_estimate_and_the_keyword(settings, db, novel):
    summary, segments, checks = lab_trials.try_template("suspense", "", "template",
                                                        *material_args(novel), None)
    assert "suspense@2" in summary and "合计约" in summary
    assert f"口令「{KEYWORD}」在 cta 段" in summary
    assert list(segments.columns) == lab_trials.SEGMENT_HEADERS
    assert list(segments["段落"]) == ["hook", "body", "cliffhanger", "cta"]
    assert all(float(s) > 0 for s in segments["预计秒数"])
    assert float(segments["起始秒"].iloc[0]) == 0 < float(segments["起始秒"].iloc[1])
    assert "通过" in set(checks["级别"]) and "keyword" in set(checks["检查"])
    # the editor's unsaved text, as typed
    edited = with_cta(loaded(), "，快去看结局")
    summary, segments, _ = lab_trials.try_template(lab_trials.EDITOR, edited, "template",
                                                   *material_args(novel), None)
    assert "编辑器草稿.j2" in summary and "快去看结局" in segments["文字"].iloc[-1]


def test_a_trial_refuses_paths_prompts_and_missing_choices(settings, db, novel):
    for ref in ("/etc/passwd", "../templates/suspense.j2"):
        with pytest.raises(gr.Error, match="请选择要试用的模板"):
            lab_trials.try_template(ref, "", "template", *material_args(novel), None)
    with pytest.raises(gr.Error, match="编辑器里是提示词"):
        lab_trials.try_template(lab_trials.EDITOR, "## user", "prompt", *material_args(novel),
                                None)
    with pytest.raises(gr.Error, match="请先选择素材"):
        lab_trials.try_template("suspense", "", "template", None, 2, "", KEYWORD, "rules",
                                "narration", None)
    with pytest.raises(gr.Error, match="请选择章节"):
        lab_trials.try_template("suspense", "", "template", novel, None, "", KEYWORD, "rules",
                                "narration", None)
    with pytest.raises(gr.Error, match="口令不能为空"):
        lab_trials.try_template("suspense", "", "template", novel, 2, "", " ", "rules",
                                "narration", None)
    with pytest.raises(gr.Error, match="预览时长应在 0 到 30 秒之间"):
        lab_trials.preview_one("suspense", "", "template", *material_args(novel), 60, None)
    chapter, segments = lab_trials.pick_material(novel)
    assert chapter.choices[0][1] == 1 and chapter.value == 1 and segments.visible is False


def test_a_drama_is_tried_on_the_segments_typed(settings, db, sample_drama):  # noqa: F811
    material = add_drama(db, [sample_drama.folder]).material["id"]
    chapter, segments = lab_trials.pick_material(material)
    assert chapter.visible is False and segments.visible is True
    summary, table, _ = lab_trials.try_template("cut", "", "template", material, None,
                                                "1:0-6,2:0-5", KEYWORD, "rules", "narration",
                                                None)
    assert "短剧切片：不改写" in summary and "cta" in list(table["段落"])
    with pytest.raises(gr.Error, match="短剧"):
        lab_trials.try_template("suspense", "", "template", material, None, "1:0-6", KEYWORD,
                                "rules", "narration", None)


def test_two_versions_compared_side_by_side_with_escaped_marked_differences(settings, db,
                                                                            novel):
    edited = with_cta(loaded(), "<b>快去</b>看结局")
    lab_editor.save_editor(edited, lab_editor.TEMPLATE, "", None)
    page = lab_trials.compare(["suspense@2", "suspense@3"], "", "template",
                              *material_args(novel), None)
    assert "suspense@2（基准）" in page and "suspense@3" in page
    assert "<ins>&lt;b&gt;快去&lt;/b&gt;看结局</ins>" in page  # escaped, and marked as added
    assert "<b>" not in page and "<mark>" in page  # the baseline's place that differs
    for row in ("合计", "开头", "口令", "相似度", "检查"):
        assert f"<th>{row}</th>" in page
    with pytest.raises(gr.Error, match="请选择 2 到 4 个"):
        lab_trials.compare(["suspense@2"], "", "template", *material_args(novel), None)


# 版本 ----------------------------------------------------------------------------------------
def test_versions_table_download_editor_and_import(settings, db, tmp_path):
    lab_editor.save_editor(with_cta(loaded(), "，快去看结局"), lab_editor.TEMPLATE, "更长", None)
    table, note, picked = lab_editor.show_versions("suspense", None)
    assert "2 个版本" in note and list(table["版本"]) == [3, 2]
    assert table["备注"].iloc[0] == "更长" and list(table["用过的成品数"]) == [0, 0]
    assert picked.value == "3"
    made, download = lab_editor.pick_version("suspense", "2")
    exported = download.value["path"]
    assert made.empty and exported.endswith("suspense.v2.j2")
    assert "suspense.v2.j2" in download.label
    assert "version: 2" in Path(exported).read_text("utf-8")
    source, version, text, kind, status, save, tabs = lab_editor.version_to_editor(
        "suspense", "2")
    assert source.value == SUSPENSE and version.value == "2" and "suspense@2" in status
    assert save.interactive is True and tabs.selected == "lab-edit"
    assert "，快去看结局" not in text and kind == lab_editor.TEMPLATE

    moved = tmp_path / "suspense.v9.j2"
    moved.write_text(with_cta(text, "，别错过").replace("version: 2", "version: 9"), "utf-8")
    message, chosen = lab_editor.import_version(str(moved), "", None)
    assert "已导入为 **suspense@9**" in message and chosen.value == "suspense"
    broken = tmp_path / "broken.j2"
    broken.write_text("---\nid: suspense\n---\n{% block hook %}{{ x", "utf-8")
    with pytest.raises(gr.Error) as refused:
        lab_editor.import_version(str(broken), "", None)
    assert "broken.j2" in refused.value.message and str(tmp_path) not in refused.value.message
    assert [v.version for v in list_versions(db, "suspense")] == [2, 3, 9]


# 收益 ----------------------------------------------------------------------------------------
@pytest.fixture
def earned(db, tmp_path) -> None:
    """悬念 v1 and v2 on 抖音 for task A, 情感 v1 on 快手 for task B, with tracking."""
    two_tasks_published(db, tmp_path)


def test_which_template_earns_chart_table_and_filters(settings, db, earned):
    chart, table, notes = lab_earnings.run_stats("", "", "", "", "", "version", 1)
    assert "<svg" in chart and "悬念 v1" in chart
    assert set(table["模板"]) == {"悬念 v1", "悬念 v2", "情感 v1"}
    emotional = table[table["模板"] == "情感 v1"].iloc[0]
    assert (emotional["视频"], emotional["播放"], emotional["转化"]) == (1, 500, 7)
    assert emotional["收益（元）"] == "14.00"  # 7 activations × 2 元
    assert "样本太少" not in set(table["样本"]) and "Wilson" in notes
    _, table, notes = lab_earnings.run_stats("", "快手", "", "", "", "template", 10)
    assert list(table["模板"]) == ["情感"] and list(table["样本"]) == ["样本太少"]
    assert "视频少于 10 条" in notes
    _, table, _ = lab_earnings.run_stats("", "", "", "2026-11-02", "2026-11-02", "version", 1)
    assert table[table["模板"] == "情感 v1"].iloc[0]["播放"] == 0  # no tracking that day
    chart, table, notes = lab_earnings.run_stats("", "", "", "", "2026-10-31", "version", 1)
    assert chart == "" and table.empty and "没有符合条件" in notes
    with pytest.raises(gr.Error, match="晚于"):
        lab_earnings.run_stats("", "", "", "2026-11-03", "2026-11-01", "version", 1)
    with pytest.raises(gr.Error, match="样本门槛"):
        lab_earnings.run_stats("", "", "", "", "", "version", 0)
    tasks, accounts = lab_earnings.refresh_filters()
    assert len(tasks.choices) == 3 and len(accounts.choices) == 3
