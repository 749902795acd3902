"""Tracking import (回传 from exports): real files in every encoding and format, a real SQLite
store, keywords made through the library."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from cli_runner import run_cli, run_subprocess

from workbench.errors import InputError
from workbench.platform import tracking_read
from workbench.platform.accounts import add_account
from workbench.platform.history import history_of
from workbench.platform.keywords import apply_keyword
from workbench.platform.tasks import add_task
from workbench.platform.tracking import import_tracking, list_tracking
from workbench.platform.tracking_mapping import presets

HEADER = "日期,口令,播放量,点赞,收入(元)"


@pytest.fixture
def keywords(db) -> dict[str, int]:
    """星河口令 and 青山口令 in task 1; 双生口令 in tasks 1 and 2 (ambiguous without --task)."""
    one = add_task(db, {"platform": "推文平台", "app": "番茄小说", "title": "原书一",
                        "kind": "novel"}, "test")
    two = add_task(db, {"platform": "推文平台", "app": "七猫", "title": "原书二",
                        "kind": "novel"}, "test")
    accounts = [add_account(db, "抖音", f"studio{i}", None, "test")["id"] for i in range(3)]
    ids = {"task1": one["id"], "task2": two["id"]}
    for text, task, account in (("星河口令", one, 0), ("青山口令", one, 1),
                                ("双生口令", one, 2), ("双生口令", two, 0)):
        row = apply_keyword(db, task["id"], accounts[account], text, [], "test")
        ids.setdefault(text, row["id"])
        ids[f"{text}@{task['id']}"] = row["id"]
    return ids


def write(path: Path, lines: list[str], encoding: str = "utf-8") -> Path:
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def stored(db) -> list[dict]:
    return [dict(r) for r in db.query(
        "SELECT k.text, t.* FROM tracking t JOIN keywords k ON k.id = t.keyword_id "
        "ORDER BY t.date, k.text, t.source")]


def nothing_stored(db) -> bool:
    return db["tracking"].count == 0 and db["tracking_imports"].count == 0


# --- encodings and formats ---------------------------------------------------------------

@pytest.mark.parametrize("encoding,reported", [
    ("utf-8", "utf_8"), ("utf-8-sig", "utf_8_sig"), ("gbk", "gb18030"), ("gb18030", "gb18030")])
def test_every_encoding_excel_writes_imports_the_same_rows(db, keywords, tmp_path, encoding,
                                                           reported):
    lines = [HEADER + ",备注", "2026-11-01,星河口令,\"1,234\",56,12.30,首日数据",
             "2026/11/02,青山口令,0,,0,第二天"]
    if encoding == "gb18030":  # a character GBK does not have: only GB18030 decodes it
        lines[2] += "㐀"
    path = write(tmp_path / "export.csv", lines, encoding)
    result = import_tracking(db, path, actor="test")
    assert result.summary() == {"inserted": 2, "updated": 0, "unchanged": 0, "rejected": []}
    rows = stored(db)
    assert [(r["text"], r["date"], r["views"], r["likes"], r["revenue"], r["source"])
            for r in rows] == [("星河口令", "2026-11-01", 1234, 56, "12.30", "generic-cn"),
                               ("青山口令", "2026-11-02", 0, None, "0", "generic-cn")]
    log = next(db["tracking_imports"].rows)
    assert (log["encoding"], log["format"], log["inserted"]) == (reported, "csv", 2)
    assert json.loads(log["mapping"]) == {"日期": "date", "口令": "keyword", "播放量": "views",
                                          "点赞": "likes", "收入(元)": "revenue"}


@pytest.mark.parametrize("name,separator,encoding", [
    ("export.tsv", "\t", "utf-8"), ("export.txt", ";", "gb18030"),
    ("unicode.txt", "\t", "utf-16")])  # Excel's "Unicode 文本": UTF-16 with BOM, tabs
def test_tsv_and_txt_delimiters_are_read_off_the_first_lines(db, keywords, tmp_path, name,
                                                             separator, encoding):
    lines = ["口令数据 2026-11", HEADER.replace(",", separator),
             separator.join(["2026-11-01", "星河口令", "10", "2", "1.5"])]
    result = import_tracking(db, write(tmp_path / name, lines, encoding), actor="test")
    assert result.inserted == 1
    assert stored(db)[0]["revenue"] == "1.5"


def test_json_array_gives_each_object_the_line_it_starts_on(db, keywords, tmp_path):
    text = """[
  {"date": "2026-11-01", "keyword": "星河口令", "views": 12.0, "revenue": 19.99},
  {
    "date": "2026-11-02",
    "keyword": "星河口令",
    "views": 1.5
  },
  {"date": "2026-11-03", "keyword": "青山口令", "likes": 3, "revenue": 0.1}
]"""
    path = tmp_path / "export.json"
    path.write_text(text, encoding="utf-8")
    result = import_tracking(db, path, actor="test")
    assert result.source == "canonical"
    assert (result.inserted, [(r.line, r.reason) for r in result.rejected]) == (
        2, [(3, "「views」列应为不小于 0 的整数，收到 '1.5'")])
    rows = stored(db)
    assert [(r["date"], r["views"], r["likes"], r["revenue"]) for r in rows] == [
        ("2026-11-01", 12, None, "19.99"), ("2026-11-03", None, 3, "0.1")]


def test_xlsx_rows_keep_sheet_row_numbers_and_skip_a_sheet_without_the_header(
        db, keywords, tmp_path):
    book = openpyxl.Workbook()
    notes = book.active
    notes.title = "说明"
    notes.append(["本表由平台导出"])
    data = book.create_sheet("数据")
    data.append(["口令数据 2026-11"])  # a title row above the header
    data.append([])
    data.append(["日期", "口令", "播放量", "点赞", "收益（元）"])
    data.append([datetime.datetime(2026, 11, 1), "星河口令", 12.0, 3, 19.99])
    data.append([datetime.date(2026, 11, 2), "星河口令", 2.5, 3, 1])
    data.append(["2026年11月3日", "青山口令", 7, None, 0.3])
    path = tmp_path / "export.xlsx"
    book.save(path)
    result = import_tracking(db, path, actor="test")
    assert result.inserted == 2
    assert [(r.line, r.reason) for r in result.rejected] == [
        (5, "「播放量」列应为不小于 0 的整数，收到 '2.5'")]
    rows = stored(db)
    assert [(r["date"], r["views"], r["likes"], r["revenue"]) for r in rows] == [
        ("2026-11-01", 12, 3, "19.99"), ("2026-11-03", 7, None, "0.3")]  # floats read as shown
    assert next(db["tracking_imports"].rows)["format"] == "xlsx"


def test_oceanengine_report_keys_pick_their_preset(db, keywords, tmp_path):
    path = tmp_path / "report.json"
    path.write_text(json.dumps([{"stat_datetime": "2026-11-01 00:00:00", "query": "星河口令",
                                 "show": 9000, "total_play": 800, "click": 40, "active": 5,
                                 "cost": 12.5}], ensure_ascii=False), encoding="utf-8")
    result = import_tracking(db, path, actor="test")
    assert (result.inserted, result.source) == (1, "oceanengine-report")
    row = stored(db)[0]
    assert (row["views"], row["clicks"], row["activations"], row["revenue"]) == (800, 40, 5,
                                                                                None)


def test_map_names_any_columns(db, keywords, tmp_path):
    path = write(tmp_path / "mine.csv", ["统计日,推广词,新增用户数（去重）,充值",
                                         "2026-11-01,星河口令,9,3.50"], "gbk")
    result = import_tracking(db, path, actor="test",
                             mapping="统计日=date，推广词=keyword,新增用户数（去重）=activations,充值=revenue")
    assert (result.inserted, result.source) == (1, "import")
    row = stored(db)[0]
    assert (row["activations"], row["revenue"]) == (9, "3.50")


# --- rejections ----------------------------------------------------------------------------

def test_every_rejection_reason_names_its_line_and_the_good_rows_are_imported(
        db, keywords, tmp_path):
    lines = [HEADER,
             "2026-11-01,星河口令,100,5,1.50",   # 2 good
             "2026-13-45,星河口令,1,1,1",        # 3 not a date
             "2026-11-02,星河口令,1.5,1,1",      # 4 not an integer
             "2026-11-03,星河口令,-3,1,1",       # 5 negative count
             "2026-11-04,星河口令,abc,1,1",      # 6 not a number
             "2026-11-05,星河口令,1,1,-2",       # 7 negative revenue
             "2026-11-06,无名口令,1,1,1",        # 8 unknown keyword
             "2026-11-07,,1,1,1",                # 9 no keyword
             ",星河口令,,,",                     # 10 keyword and nothing else
             "2026-11-08,双生口令,1,1,1",        # 11 keyword of two tasks
             ",,,,",                             # 12 blank: ignored
             "2026-11-01,星河口令,999,5,1.50",   # 13 same keyword and day as line 2
             "2026-11-09,星河口令,7,,",          # 14 good, empty cells not reported
             "2026-11-10,星河口令,,,",           # 15 no numbers at all
             ",星河口令,1,1,1"]                  # 16 no date
    result = import_tracking(db, write(tmp_path / "bad.csv", lines), actor="test")
    reasons = {r.line: r.reason for r in result.rejected}
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 16]
    assert reasons[3].startswith("「日期」列不是日期：'2026-13-45'")
    assert reasons[4] == "「播放量」列应为不小于 0 的整数，收到 '1.5'"
    assert reasons[5] == "「播放量」列不能是负数（收到 -3）"
    assert reasons[6] == "「播放量」列应为不小于 0 的整数，收到 'abc'"
    assert reasons[7] == "「收入(元)」列不能是负数（收到 -2）"
    assert reasons[8] == "口令「无名口令」未登记（先 workbench keyword apply）"
    assert reasons[9] == "没有口令（「口令」列是空的）"
    assert reasons[10] == "空行：口令「星河口令」这一行没有日期和数据"
    assert "在多个任务里都有" in reasons[11] and "--task" in reasons[11]
    assert reasons[13].startswith("与第 2 行的口令和日期（2026-11-01）相同但数字不同")
    assert reasons[15].startswith("空行：口令「星河口令」2026-11-10")
    assert reasons[16] == "没有日期（「日期」列是空的）"
    assert (result.inserted, result.updated, result.unchanged) == (2, 0, 0)
    rows = stored(db)
    assert [(r["date"], r["views"], r["likes"], r["revenue"]) for r in rows] == [
        ("2026-11-01", 100, 5, "1.50"), ("2026-11-09", 7, None, None)]
    assert next(db["tracking_imports"].rows)["rejected"] == 12


def test_task_picks_the_keyword_a_text_names_in_several_tasks(db, keywords, tmp_path):
    path = write(tmp_path / "two.csv", [HEADER, "2026-11-08,双生口令,1,1,1",
                                        "2026-11-08,星河口令,1,1,1"])
    result = import_tracking(db, path, actor="test", task=keywords["task2"])
    assert result.inserted == 1
    assert [r.reason for r in result.rejected] == [
        "口令「星河口令」未登记（先 workbench keyword apply）"]  # a task-1 keyword
    assert stored(db)[0]["keyword_id"] == keywords[f"双生口令@{keywords['task2']}"]


# --- idempotency and corrections ----------------------------------------------------------

def test_the_same_file_twice_changes_nothing_and_a_reissued_row_is_corrected(
        db, keywords, tmp_path):
    first = write(tmp_path / "day.csv", [HEADER, "2026-11-01,星河口令,100,5,12.30",
                                         "2026-11-01,青山口令,8,1,0"])
    assert import_tracking(db, first, actor="test").inserted == 2
    before = stored(db)
    again = import_tracking(db, first, actor="test")
    assert again.summary() == {"inserted": 0, "updated": 0, "unchanged": 2, "rejected": []}
    assert stored(db) == before
    assert db["history"].count_where("entity = 'tracking'") == 0
    # re-issued: 星河口令 corrected (revenue written 12.3 is the same money), a like left
    # empty (not reported) keeps the stored 1
    reissued = write(tmp_path / "day-v2.csv", [HEADER, "2026-11-01,星河口令,120,5,12.3",
                                               "2026-11-01,青山口令,8,,0.00"])
    result = import_tracking(db, reissued, actor="cli:tester")
    assert result.summary() == {"inserted": 0, "updated": 1, "unchanged": 1, "rejected": []}
    rows = {r["text"]: r for r in stored(db)}
    assert (rows["星河口令"]["views"], rows["星河口令"]["revenue"]) == (120, "12.30")
    assert rows["星河口令"]["import_id"] == result.import_id
    assert rows["青山口令"]["likes"] == 1 and rows["青山口令"]["import_id"] == 1
    entries = history_of(db, "tracking", f"{keywords['星河口令']}/2026-11-01/generic-cn")
    assert [(e["action"], e["actor"], json.loads(e["data"])) for e in entries] == [
        ("correct", "cli:tester", {"old": {"views": 100}, "import_id": result.import_id})]
    assert db["tracking_imports"].count == 3


def test_an_identical_line_repeated_in_one_file_counts_once(db, keywords, tmp_path):
    path = write(tmp_path / "dup.csv", [HEADER, "2026-11-01,星河口令,\"1,000\",5,2.5",
                                        "2026-11-01,星河口令,1000,5,2.50"])
    result = import_tracking(db, path, actor="test")
    assert result.summary() == {"inserted": 1, "updated": 0, "unchanged": 0, "rejected": []}


def test_rows_upsert_per_source(db, keywords, tmp_path):
    path = write(tmp_path / "day.csv", [HEADER, "2026-11-01,星河口令,100,5,1"])
    import_tracking(db, path, actor="test", source="番茄后台")
    other = import_tracking(db, path, actor="test", source="星图")
    assert other.inserted == 1
    assert [r["source"] for r in stored(db)] == ["星图", "番茄后台"]


def test_dry_run_reports_the_same_and_stores_nothing(db, keywords, tmp_path):
    path = write(tmp_path / "day.csv", [HEADER, "2026-11-01,星河口令,100,5,1",
                                        "2026-11-02,无名口令,1,1,1"])
    dry = import_tracking(db, path, actor="test", dry_run=True)
    assert nothing_stored(db) and dry.import_id is None
    real = import_tracking(db, path, actor="test")
    assert dry.summary() == real.summary()
    import_tracking(db, write(tmp_path / "v2.csv", [HEADER, "2026-11-01,星河口令,101,5,1"]),
                    actor="test", dry_run=True)
    assert stored(db)[0]["views"] == 100 and db["history"].count_where("entity='tracking'") == 0


# --- files refused whole -------------------------------------------------------------------

def _zip_as_csv(tmp_path: Path) -> Path:
    book = openpyxl.Workbook()
    book.active.append(["日期", "口令"])
    book.save(tmp_path / "real.xlsx")
    target = tmp_path / "renamed.csv"
    target.write_bytes((tmp_path / "real.xlsx").read_bytes())
    return target


def _zip_not_xlsx(tmp_path: Path) -> Path:
    import zipfile

    with zipfile.ZipFile(tmp_path / "a.xlsx", "w") as archive:
        archive.writestr("readme.txt", "不是表格")
    return tmp_path / "a.xlsx"


REFUSED = {
    "zip that is not a workbook": (_zip_not_xlsx, {}, "不是有效的 XLSX 文件"),
    "json number too long": (lambda p: write(p / "a.json", ['[{"views": ' + "9" * 5000 + "}]"]),
                             {}, "第 1 行的对象无法读取"),
    "unknown extension": (lambda p: write(p / "a.xls", [HEADER]), {}, "不支持的文件类型"),
    "xlsx that is text": (lambda p: write(p / "a.xlsx", [HEADER]), {}, "不是 XLSX 文件"),
    "csv that is a zip": (_zip_as_csv, {}, "内容与扩展名不符"),
    "json not an array": (lambda p: write(p / "a.json", ['{"date": 1}']), {}, "不是 JSON 数组"),
    "broken json": (lambda p: write(p / "a.json", ['[{"date": "2026-11-01",', '"x" 1}]']), {},
                    "第 2 行第 5 列不是有效的 JSON"),
    "json element not an object": (lambda p: write(p / "a.json", ["[", "1", "]"]), {},
                                   "第 2 行的元素不是对象"),
    "empty file": (lambda p: write(p / "a.csv", [""]), {}, "文件是空的"),
    "header matches no preset": (lambda p: write(p / "a.csv", ["甲,乙", "1,2"]), {},
                                 "第 1 行的表头是 「甲」、「乙」"),
    "header lacks the preset's columns": (
        lambda p: write(p / "a.csv", ["date,keyword", "2026-11-01,星河口令"]),
        {"preset": "generic-cn"}, "不符合预设 generic-cn"),
    "unknown preset": (lambda p: write(p / "a.csv", [HEADER]), {"preset": "nope"},
                       "没有名为「nope」的回传预设"),
    "map names a missing column": (lambda p: write(p / "a.csv", [HEADER, "2026-11-01,星河口令"]),
                                   {"mapping": "日期=date,关键词=keyword"}, "没有 --map 里的列「关键词」"),
    "map names an unknown field": (lambda p: write(p / "a.csv", [HEADER]),
                                   {"mapping": "日期=date,口令=keyword,播放量=plays"},
                                   "字段「plays」不存在"),
    "map written the wrong way round": (lambda p: write(p / "a.csv", [HEADER]),
                                        {"mapping": "date=日期,keyword=口令"}, "写反了？应为 日期=date"),
    "map without keyword": (lambda p: write(p / "a.csv", [HEADER]), {"mapping": "日期=date"},
                            "--map 缺少 keyword（口令） 列"),
    "preset and map": (lambda p: write(p / "a.csv", [HEADER]),
                       {"preset": "canonical", "mapping": "日期=date,口令=keyword"},
                       "只能用一个"),
    "two columns of one name": (
        lambda p: write(p / "a.csv", ["日期,口令,播放量,播放量", "2026-11-01,星河口令,1,2"]), {},
        "不止一列叫「播放量」"),
}


@pytest.mark.parametrize("case", REFUSED, ids=list(REFUSED))
def test_a_file_that_cannot_be_read_is_refused_whole(db, keywords, tmp_path, case):
    make, options, message = REFUSED[case]
    path = make(tmp_path)
    with pytest.raises(InputError) as caught:
        import_tracking(db, path, actor="test", **options)
    assert message in str(caught.value)
    assert nothing_stored(db)


def test_bounds_refuse_files_too_big_or_too_long(db, keywords, tmp_path, monkeypatch):
    lines = [HEADER] + [f"2026-11-{d:02d},星河口令,1,1,1" for d in range(1, 21)]
    path = write(tmp_path / "long.csv", lines)
    monkeypatch.setattr(tracking_read, "MAX_ROWS", 19)
    with pytest.raises(InputError, match="超过 19 行数据"):
        import_tracking(db, path, actor="test")
    json_path = tmp_path / "long.json"
    json_path.write_text(json.dumps([{"date": f"2026-11-{d:02d}", "keyword": "星河口令",
                                      "views": 1} for d in range(1, 21)]), encoding="utf-8")
    with pytest.raises(InputError, match="超过 19 行数据"):
        import_tracking(db, json_path, actor="test")
    monkeypatch.setattr(tracking_read, "MAX_ROWS", 20)
    monkeypatch.setattr(tracking_read, "MAX_BYTES", path.stat().st_size - 1)
    with pytest.raises(InputError, match="文件过大.*上限 0 MB"):
        import_tracking(db, path, actor="test")
    assert nothing_stored(db)
    monkeypatch.setattr(tracking_read, "MAX_BYTES", path.stat().st_size)
    assert import_tracking(db, path, actor="test").inserted == 20


def test_presets_are_bundled_with_their_required_columns():
    bundled = presets()
    assert list(bundled)[:2] == ["canonical", "generic-cn"]
    assert "oceanengine-report" in bundled
    for preset in bundled.values():
        assert {"date", "keyword"} <= set(preset.columns)


# --- the commands --------------------------------------------------------------------------

def test_cli_import_json_prints_only_the_summary(db, keywords, tmp_path):
    path = write(tmp_path / "day.csv", [HEADER, "2026-11-01,星河口令,100,5,1",
                                        "2026-11-02,无名口令,1,1,1"])
    result = run_cli("tracking", "import", str(path), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "inserted": 1, "updated": 0, "unchanged": 0,
        "rejected": [{"line": 3, "reason": "口令「无名口令」未登记（先 workbench keyword apply）"}]}
    assert not (tmp_path / "day.rejected.csv").exists()


def test_cli_import_writes_the_rejected_rows_beside_the_input(db, keywords, tmp_path):
    path = write(tmp_path / "day.csv", [HEADER, "2026-11-01,星河口令,100,5,1",
                                        "2026-11-02,星河口令,-1,1,1"], "gbk")
    result = run_cli("tracking", "import", str(path), "--source", "番茄后台")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "新增 1 行，更新 0 行，未变 0 行，拒绝 1 行（来源 番茄后台）"
    assert lines[-1] == str(next(db["tracking_imports"].rows)["id"])
    rejected = tmp_path / "day.rejected.csv"
    assert str(rejected) in result.stdout
    raw = rejected.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.decode("utf-8-sig").splitlines() == [
        "行号,原因,日期,口令,播放量,点赞,收入(元)",
        "3,「播放量」列不能是负数（收到 -1）,2026-11-02,星河口令,-1,1,1"]


def test_cli_refused_file_exits_1_with_one_line(db, keywords, tmp_path):
    path = write(tmp_path / "odd.csv", ["甲,乙", "1,2"])
    result = run_cli("tracking", "import", str(path), "--json")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("错误: ") and "--map" in result.stderr
    assert nothing_stored(db)


def test_cli_list_shows_stored_rows(db, keywords, tmp_path):
    path = write(tmp_path / "day.csv", [HEADER, "2026-11-01,星河口令,100,5,1.50",
                                        "2026-11-02,青山口令,3,,"])
    assert run_cli("tracking", "import", str(path)).returncode == 0
    listed = run_cli("tracking", "list", "--json", "--keyword", "星河口令")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["keyword"], r["date"], r["views"], r["revenue"]) for r in rows] == [
        ("星河口令", "2026-11-01", 100, "1.50")]
    table = run_cli("tracking", "list", "--task", str(keywords["task1"]))
    assert "青山口令" in table.stdout and "星河口令" in table.stdout
    assert list_tracking(db, limit=1)[0]["date"] == "2026-11-02"
    assert Decimal(rows[0]["revenue"]) == Decimal("1.5")


def test_cli_import_in_a_real_process(db, keywords, tmp_path):
    path = write(tmp_path / "day.csv", [HEADER, "2026-11-01,星河口令,100,5,1"], "utf-8-sig")
    done = run_subprocess("tracking", "import", str(path), "--dry-run", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["inserted"] == 1
    assert nothing_stored(db)
