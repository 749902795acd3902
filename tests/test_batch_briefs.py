"""Prompt folders: parsing, validation (every problem with file and line, nothing written) and
variant expansion. No renders here."""
# The fixtures are imported by name, so test parameters "redefine" them:
# ruff: noqa: F811

from __future__ import annotations

from pathlib import Path

import pytest
from batch_fixtures import NOVEL, batch_settings, write_folder  # noqa: F401
from cli_runner import run_cli
from conftest import anchor_bomb, bounded_work
from PIL import Image

from workbench.batch import BriefErrors, load_plan
from workbench.batch.expand import ESPEAK_ROTATION, differences
from workbench.yamlnodes import YamlTooLarge, load_located


def problems_of(folder: Path, settings, db) -> list[str]:
    with pytest.raises(BriefErrors) as caught:
        load_plan(folder, settings, db, import_materials=True)
    return [str(p) for p in caught.value.problems]


def test_every_problem_is_reported_at_once_with_file_and_line(tmp_path, batch_settings, db):
    folder = write_folder(tmp_path / "briefs", {
        "a-bad-yaml.md": "---\nchapters: 2\nvoices: [cmn, cmn+f3\nvariants: 2\n---\n正文\n",
        "b-unknown-template.yaml": "chapters: 2\n\ntemplate: nosuch\n",
        "c-missing-material.yaml": "material: gone/novel.txt\nchapters: 1\n",
        "d-escape.yaml": "chapters: 1\nmaterial: ../../etc/passwd\n",
        "e-typo.yaml": "chapters: 1\nvoise: cmn\n",
        "f-chapter.yaml": "chapters: 99\n",
        "g-types.yaml": "chapters: [1, x]\nvariants: 0\n",
    })
    found = problems_of(folder, batch_settings, db)
    text = "\n".join(found)
    # bad YAML: the line of the unclosed flow list (file line 3 or the line after), with a hint
    assert any(p.startswith(f"{folder / 'a-bad-yaml.md'}:") and "YAML 格式错误" in p
               for p in found), text
    bad_yaml_line = next(p for p in found if "a-bad-yaml.md" in p).split(":")[1]
    assert int(bad_yaml_line) in (3, 4, 5)
    assert f"{folder / 'b-unknown-template.yaml'}:3: 找不到模板 'nosuch'" in text
    assert "可用：" in text and "tinyhook" in text
    assert f"{folder / 'c-missing-material.yaml'}:1: 素材 gone/novel.txt 无法使用" in text
    assert f"{folder / 'd-escape.yaml'}:2: 路径 ../../etc/passwd 指向允许范围之外" in text
    assert f"{folder / 'e-typo.yaml'}:2: 未知字段 voise，是不是 voice？" in text
    assert f"{folder / 'f-chapter.yaml'}:1: 没有第 99 章" in text
    assert any("g-types.yaml:1: chapters" in p for p in found), text
    assert any("g-types.yaml:2: variants 太小" in p for p in found), text
    # nothing was imported: a folder with mistakes leaves the store as it was
    assert db["materials"].count == 0


def test_paths_must_stay_inside_the_folder_home_or_assets(tmp_path, batch_settings, db):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "novel.txt").write_text(NOVEL.read_text("utf-8"), encoding="utf-8")
    folder = write_folder(tmp_path / "briefs", {
        "abs.yaml": {"material": str(outside / "novel.txt")},
        "link.yaml": {"material": "inside.txt"},
        "bg.yaml": {"background": "/etc"},
        "bgm.yaml": {"bgm": "../outside/novel.txt"},
    })
    (folder / "inside.txt").symlink_to(outside / "novel.txt")
    found = "\n".join(problems_of(folder, batch_settings, db))
    for name in ("abs.yaml", "link.yaml", "bg.yaml", "bgm.yaml"):
        assert f"{name}:" in found and "指向允许范围之外" in found.split(f"{name}:")[1], found
    # the same novel inside the folder, or in the project's assets/, is fine
    (folder / "inside.txt").unlink()
    (folder / "inside.txt").write_text(NOVEL.read_text("utf-8"), encoding="utf-8")
    for name in ("abs.yaml", "bg.yaml", "bgm.yaml"):
        (folder / name).unlink()
    plan = load_plan(folder, batch_settings, db, import_materials=True)
    assert len(plan.jobs) == 1 and plan.jobs[0].job.material_id == 1


def test_markdown_body_is_the_instruction_and_defaults_apply(tmp_path, batch_settings, db):
    folder = write_folder(tmp_path / "briefs", {
        "one.md": "---\nchapters: 3\nrate: \"+20%\"\n---\n多用短句。\n",
        "two.yaml": {"keyword": "另一个口令", "instruction": "语气温柔"},
    }, defaults={"profile": "draft", "output": "reports"})
    plan = load_plan(folder, batch_settings, db, import_materials=False)
    one, two = plan.jobs
    assert (one.job.chapter, one.job.instruction, one.job.rate) == (3, "多用短句。", "+20%")
    assert (one.job.keyword, one.job.profile, one.job.template) == ("夜渡迷局", "draft",
                                                                    "tinyhook")
    assert (two.job.keyword, two.job.instruction, two.job.chapter) == ("另一个口令", "语气温柔", 2)
    assert plan.output_dir == folder.resolve() / "reports"
    assert one.job.material_id == 0 and db["materials"].count == 0  # dry run writes nothing


def test_variants_rotate_voices_and_seeds_and_differ_in_two_ways(tmp_path, batch_settings, db):
    folder = write_folder(tmp_path / "briefs", {"v.yaml": {"variants": 3}})
    plan = load_plan(folder, batch_settings, db, import_materials=False)
    jobs = [p.job for p in plan.jobs]
    assert [j.voice for j in jobs] == list(ESPEAK_ROTATION[:3])
    assert [j.seed for j in jobs] == [0, 1, 2] and {j.script_seed for j in jobs} == {None}
    assert [j.bgm for j in jobs] == [None, "generated:1", "generated:2"]  # pads 1, 2, 3
    for a in jobs:
        for b in jobs:
            if a is not b:
                assert set(differences(a, b, rules=True)) == {"voice", "background", "bgm"}


def test_matrix_is_the_product_and_shares_the_wording_seed(tmp_path, batch_settings, db):
    folder = write_folder(tmp_path / "briefs", {"m.yaml": {
        "chapters": [1, 2],
        "matrix": {"hooks": ["第一种开头。", "第二种开头？"], "voices": ["cmn", "cmn+f3"]}}})
    plan = load_plan(folder, batch_settings, db, import_materials=False)
    assert len(plan.jobs) == 2 * 2 * 2
    chapter2 = [p for p in plan.jobs if p.job.chapter == 2]
    combos = {(p.job.variables["hook_line"], p.job.voice) for p in chapter2}
    assert combos == {(h, v) for h in ("第一种开头。", "第二种开头？") for v in ("cmn", "cmn+f3")}
    assert {p.job.script_seed for p in plan.jobs} == {0}  # same hook → same script
    assert len({p.job.seed for p in chapter2}) == 4  # every cell its own background seed
    assert plan.batch_id == load_plan(folder, batch_settings, db,
                                      import_materials=False).batch_id


@pytest.mark.timeout(60)
def test_a_matrix_has_the_same_variant_cap_as_variants(tmp_path, batch_settings, db):
    """6 hooks × 3 voices × 3 BGMs = 54 cells: refused like `variants: 54`, before expansion."""
    hooks = [f"第{i}种开头。" for i in range(6)]
    folder = write_folder(tmp_path / "briefs", {"big.yaml": (
        "chapters: 1\nmatrix:\n"
        f"  hooks: [{', '.join(hooks)}]\n"
        "  voices: [cmn, cmn+f3, cmn+m3]\n"
        "  bgms: [generated, generated:1, none]\n")})
    found = problems_of(folder, batch_settings, db)
    assert any(p.startswith(f"{folder / 'big.yaml'}:2: matrix 会组合出 54 个变体（6 × 3 × 3）")
               and "最多 50 个" in p for p in found), found
    # defaults with a matrix count too: a brief inherits the folder's matrix
    folder = write_folder(tmp_path / "briefs2", {"a.yaml": "chapters: 1\n"},
                          defaults={"matrix": {"hooks": hooks * 9}})
    found = problems_of(folder, batch_settings, db)
    assert any("_defaults.yaml" in p and "matrix 会组合出 54 个变体" in p for p in found), found
    # 50 cells exactly is the cap, not past it
    folder = write_folder(tmp_path / "briefs3", {"a.yaml": "chapters: 1\n"},
                          defaults={"matrix": {"hooks": [f"第{i}种开头。" for i in range(50)]}})
    assert len(load_plan(folder, batch_settings, db, import_materials=False).jobs) == 50


def test_too_alike_variants_are_refused_unless_allowed(tmp_path, batch_settings, db):
    folder = write_folder(tmp_path / "briefs", {"same.yaml": {
        "variants": 2, "voice": "cmn", "bgm": "none"}})  # one voice, no music: background only
    found = "\n".join(problems_of(folder, batch_settings, db))
    assert "same.yaml:2: 变体 1 和变体 2（第 2 章）只在背景上不同" in found, found  # variants:
    assert "min_differences: 1" in found
    (folder / "same.yaml").write_text("variants: 2\nvoice: cmn\nbgm: none\nmin_differences: 1\n",
                                      "utf-8")
    assert len(load_plan(folder, batch_settings, db, import_materials=False).jobs) == 2
    # one voice with the built-in music: each variant gets its own pad, so two differences
    (folder / "same.yaml").write_text("variants: 2\nvoice: cmn\n", "utf-8")
    plan = load_plan(folder, batch_settings, db, import_materials=False)
    assert [p.label["bgm"] for p in plan.jobs] == ["内置", "内置 2"]
    # a full matrix over backgrounds with one fixed music has pairs that differ only there …
    for name, colour in (("a.png", "navy"), ("b.png", "maroon")):
        Image.new("RGB", (90, 160), colour).save(folder / name)
    (folder / "same.yaml").write_text(
        "bgm: generated:0\nmatrix:\n  voices: [cmn, cmn+f3]\n  backgrounds: [a.png, b.png]\n",
        "utf-8")
    found = "\n".join(problems_of(folder, batch_settings, db))
    assert "same.yaml:2: 变体 1 和变体 2（第 2 章）只在背景上不同" in found, found  # matrix:
    # … while voices × BGMs always differ in two ways (every cell has its own background seed)
    (folder / "same.yaml").write_text(
        "matrix:\n  voices: [cmn, cmn+f3]\n  bgms: [generated, none]\n", "utf-8")
    assert len(load_plan(folder, batch_settings, db, import_materials=False).jobs) == 4


def test_the_issues_matrix_of_hooks_voices_and_backgrounds_is_accepted(tmp_path,
                                                                        batch_settings, db):
    """2 hooks × 3 voices × 2 backgrounds: with the built-in music varied per variant every
    pair of the 12 differs in at least two ways, so the default rule lets it through."""
    folder = write_folder(tmp_path / "briefs", {"m.yaml": {"matrix": {
        "hooks": ["第一种开头。", "第二种开头？"], "voices": ["cmn", "cmn+f3", "cmn+m3"],
        "backgrounds": ["a.png", "b.png"]}}})
    for name, colour in (("a.png", "navy"), ("b.png", "maroon")):
        Image.new("RGB", (90, 160), colour).save(folder / name)
    plan = load_plan(folder, batch_settings, db, import_materials=False)
    jobs = [p.job for p in plan.jobs]
    assert len(jobs) == 12 and len({j.bgm for j in jobs}) == 12
    assert all(len(differences(a, b, rules=True)) >= 2
               for i, a in enumerate(jobs) for b in jobs[i + 1:])
def test_hooks_need_a_template_with_hook_line(tmp_path, batch_settings, db):
    folder = write_folder(tmp_path / "briefs", {"h.yaml": {
        "template": "suspense", "hooks": ["甲。", "乙。"], "variants": 2}})
    assert len(load_plan(folder, batch_settings, db, import_materials=False).jobs) == 2
    (tmp_path / "tpl" / "plain.j2").write_text(
        (tmp_path / "tpl" / "tinyhook.j2").read_text("utf-8")
        .replace("id: tinyhook", "id: plain").split("variables:")[0]
        + "---\n{% block hook %}\n{{ chapter_text|striking(14) }}\n{% endblock %}\n"
          "{% block body %}\n正文\n{% endblock %}\n{% block cta %}\n{{ app }}搜索【{{ keyword }}】\n"
          "{% endblock %}\n", "utf-8")
    (folder / "h.yaml").write_text("template: plain\nhooks: [甲。, 乙。]\nvariants: 2\n", "utf-8")
    found = "\n".join(problems_of(folder, batch_settings, db))
    assert "h.yaml:1: 模板 plain 没有 hook_line 变量" in found, found


def test_an_empty_folder_and_a_missing_one_say_what_to_do(tmp_path, batch_settings, db):
    (tmp_path / "empty").mkdir()
    assert "文件夹里没有简报" in "\n".join(problems_of(tmp_path / "empty", batch_settings, db))
    with pytest.raises(Exception, match="提示词文件夹不存在"):
        load_plan(tmp_path / "nowhere", batch_settings, db, import_materials=False)


# --- hostile input: bounded work -----------------------------------------------------------

def test_an_anchor_bomb_in_a_brief_is_refused_fast_with_file_and_line(tmp_path, batch_settings,
                                                                      db):
    bomb = anchor_bomb()
    assert len(bomb.encode()) < 1024
    folder = write_folder(tmp_path / "briefs", {
        "bomb.yaml": "chapters: 1\n" + bomb,
        "bomb-md.md": "---\nchapters: 1\n" + bomb + "---\n正文\n",
        "loop.yaml": "chapters: 1\nx: &x [1, *x]\n",
    })
    with bounded_work() as used:
        found = problems_of(folder, batch_settings, db)
    text = "\n".join(found)
    assert f"{folder / 'bomb.yaml'}:" in text and f"{folder / 'bomb-md.md'}:" in text, text
    # the line of the level whose expansion passes the limit (e: 9**5 nodes), not line 1
    bomb_line = next(p for p in found if "bomb.yaml" in p).split(":")[1]
    assert int(bomb_line) == 1 + bomb.splitlines().index(next(
        line for line in bomb.splitlines() if line.startswith("f:"))) + 1
    assert sum("YAML 别名展开过多" in p for p in found) == 2, text
    assert f"{folder / 'loop.yaml'}:2: YAML 别名引用了包含它自己的锚点" in text
    assert used["seconds"] < 1.0, used
    assert used["peak_mb"] < 50, used


def test_an_anchor_bomb_is_refused_by_batch_dry_run(tmp_path, batch_settings):
    folder = write_folder(tmp_path / "briefs", {"bomb.yaml": "chapters: 1\n" + anchor_bomb()})
    with bounded_work() as used:
        result = run_cli("batch", str(folder), "--dry-run")
    assert result.returncode != 0
    assert "bomb.yaml:" in result.stdout + result.stderr
    assert "YAML 别名展开过多" in result.stdout + result.stderr
    assert used["seconds"] < 5.0 and used["peak_mb"] < 100, used


def test_anchors_and_merge_keys_still_work(tmp_path, batch_settings, db):
    folder = write_folder(tmp_path / "briefs", {
        "merged.yaml": ("<<: &base {chapters: 1, template: tinyhook}\n"
                        "matrix: {voices: &v [cmn, cmn+f3]}\n"),
        "listed.yaml": "<<: [&one {chapters: 1}, {variants: 2}]\nhooks: [&h 开头一, *h]\n",
    })
    plan = load_plan(folder, batch_settings, db, import_materials=True)
    assert len(plan.jobs) == 2 + 2  # two voices; two variants


def test_a_huge_brief_file_is_not_read_whole(tmp_path, batch_settings, db):
    folder = write_folder(tmp_path / "briefs", {"ok.yaml": "chapters: 1\n"})
    with (folder / "huge.yaml").open("w") as handle:
        handle.write("chapters: 1\n")
        handle.write("# padding\n" * 1_000_000)  # 10 MB
    with bounded_work() as used:
        found = problems_of(folder, batch_settings, db)
    assert any(p.startswith(f"{folder / 'huge.yaml'}:1: 文件太大") for p in found), found
    assert used["peak_mb"] < 10, used


@pytest.mark.parametrize(("text", "message"), [
    ("[" * 5000 + "]" * 5000, "YAML 嵌套层数过多"),
    ("a: &a {b: *a}\n", "YAML 别名引用了包含它自己的锚点"),
    ("a: " + "x" * 1_000_001 + "\n", "YAML 内容太长"),
])
def test_other_unbounded_yaml_is_refused(text, message):
    with pytest.raises(YamlTooLarge, match=message):
        load_located(text)


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("chapters", "message"), [
    ("1-3000000", "chapters 有 3,000,000 章，一份简报最多 10,000 章"),
    ("1-" + "9" * 5000, "chapters 有太多章，一份简报最多 10,000 章"),
    ("5-9000", "没有第 8–9000 章：这本小说共 7 章"),
    ("0-2", "没有第 0 章：这本小说共 7 章"),
])
def test_a_chapter_range_is_counted_before_it_is_listed(tmp_path, batch_settings, db, chapters,
                                                        message):
    """"1-3000000" took 12 s and 1.8 GB (a list, then one problem per missing chapter)."""
    folder = write_folder(tmp_path / "briefs", {"r.yaml": f'chapters: "{chapters}"\n'})
    with bounded_work() as used:
        found = problems_of(folder, batch_settings, db)
    assert found == [f"{folder / 'r.yaml'}:1: {message}" + (
        "：缩小范围，或拆成几个文件" if "最多" in message else "")], found
    assert used["seconds"] < 10 and used["peak_mb"] < 100, used


@pytest.mark.timeout(60)
def test_a_folder_plans_at_most_ten_thousand_jobs_before_expanding_any(tmp_path, batch_settings,
                                                                       db):
    """2,000 chapters × 50 variants took 9 s and 240 MB to expand before the runner even
    started; now the count (chapters × variants, summed over briefs) is checked first."""
    folder = tmp_path / "briefs"
    folder.mkdir()
    (folder / "long.txt").write_text("".join(
        f"第{i}章 夜\n林舟站在栈桥尽头，听着江水一下一下拍打木桩。\n" for i in range(1, 201)),
        "utf-8")
    write_folder(folder, {
        "a.yaml": "material: long.txt\nchapters: 1-150\nvariants: 40\nmin_differences: 1\n",
        "b.yaml": "material: long.txt\nchapters: 1-200\nvariants: 50\nmin_differences: 1\n"})
    with bounded_work() as used:
        found = problems_of(folder, batch_settings, db)
    expected = (f"{folder / 'b.yaml'}:2: 这份简报会生成 10,000 个视频（200 章 × 50 个变体），"
                "连同前面的简报共 16,000 个，一次最多 10,000 个：减少章节或变体，或分几个文件夹运行")
    assert found == [expected]
    assert used["seconds"] < 10, used
