"""Tasks, accounts and keywords: validation, the keyword rules, the lifecycle and its history,
task import from CSV and JSON, and the CLI's output shapes (ids on the last line, --json)."""

from __future__ import annotations

import json
import sqlite3

import pytest
from cli_runner import run_cli, run_subprocess

from workbench.compliance import load_banned_words
from workbench.errors import InputError
from workbench.platform import accounts, keywords, tasks
from workbench.platform.history import history_of
from workbench.platform.keyword_rules import KeywordRules, check_keyword_text
from workbench.platform.task_import import import_tasks

NOVEL = {"platform": "星推", "app": "番茄小说", "title": "夜渡", "kind": "novel",
         "model": "CPA", "price": "3.50", "action": "activation", "channels": ["抖音", "快手"],
         "deadline": "2099-12-31"}
WORDS = load_banned_words()


@pytest.fixture
def task(db):
    return tasks.add_task(db, NOVEL, "cli:test")


@pytest.fixture
def account(db):
    return accounts.add_account(db, "抖音", "dy_1", "小号", "cli:test")


def apply(db, task, account, text="夜渡迷局", **kw):
    return keywords.apply_keyword(db, task["id"], account["id"], text, WORDS, "cli:test", **kw)


# --- tasks ------------------------------------------------------------------------------------
def test_task_add_prints_its_id_last_and_stores_money_as_text(db):
    result = run_cli("task", "add", "--platform", "星推", "--app", "七猫", "--title", "夜渡",
                     "--kind", "novel", "--model", "CPS", "--share", "30%", "--channel", "抖音",
                     "--channel", "B站")
    assert result.returncode == 0, result.stderr
    task_id = int(result.stdout.strip().splitlines()[-1])
    row = db.execute("SELECT share, typeof(share), price, channels FROM tasks WHERE id = ?",
                     [task_id]).fetchone()
    assert row == ("0.30", "text", None, '["抖音", "B站"]')
    shown = json.loads(run_cli("task", "show", str(task_id), "--json").stdout)
    assert shown["share"] == "0.30" and shown["channels"] == ["抖音", "B站"]
    assert shown["wording"] == "{app}搜索【{keyword}】" and shown["price"] is None


def test_task_add_json_prints_the_row():
    result = run_cli("task", "add", "--platform", "星推", "--app", "番茄小说", "--title", "夜渡",
                     "--kind", "drama", "--model", "CPM", "--price", "8.00", "--json")
    row = json.loads(result.stdout)
    assert row["model"] == "CPM" and row["price"] == "8.00" and row["kind"] == "drama"
    assert row["action"] is None and row["share"] is None  # nothing invented


@pytest.mark.parametrize(("change", "message"), [
    ({"price": "0"}, "单价必须大于 0"),
    ({"price": "-1"}, "单价必须大于 0"),
    ({"price": "abc"}, "单价不是数字"),
    ({"model": "CPS", "price": None, "action": None, "share": "0"}, "分成比例应在 0 到 1"),
    ({"model": "CPS", "price": None, "action": None, "share": "1.2"}, "分成比例应在 0 到 1"),
    ({"share": "0.3"}, "分成比例不适用于 CPA"),
    ({"model": None}, "先写结算方式"),
    ({"model": "CPX"}, "结算方式「CPX」无效"),
    ({"kind": "comic"}, "类型「comic」无效"),
    ({"title": " "}, "缺少原名"),
    ({"channels": ["抖音", "微博"]}, "未知的发布渠道「微博」"),
    ({"wording": "搜索{app}"}, "没有 {keyword}"),
    ({"wording": "{app}搜{kw}"}, "无法识别的占位符"),
    ({"keyword_pattern": "[a-"}, "不是有效的正则表达式"),
    ({"keyword_min": 5, "keyword_max": 3}, "口令长度范围 5–3 无效"),
    ({"deadline": "明天"}, "截止日期不是日期"),
    ({"max_seconds": "0"}, "最长秒数应在 1 到 3600"),
    ({"colour": "red"}, "未知字段：colour"),
])
def test_task_fields_are_validated(db, change, message):
    values = {k: v for k, v in {**NOVEL, **change}.items() if v is not None}
    with pytest.raises(InputError, match=message.replace("{", r"\{").replace("(", r"\(")):
        tasks.add_task(db, values, "cli:test")
    assert db["tasks"].count == 0


def test_price_is_exact_decimal_text(db):
    row = tasks.add_task(db, {**NOVEL, "price": "0.1"}, "cli:test")
    assert row["price"] == "0.1"
    assert tasks.task_row({**NOVEL, "price": 0.1})["price"] == "0.1"  # a spreadsheet float


def test_edit_keeps_old_values_in_history_and_close_stops_applications(db, task, account):
    edited = tasks.edit_task(db, task["id"], {"price": "4.20", "notes": "加价"}, "cli:me")
    assert edited["price"] == "4.20"
    last = history_of(db, "task", task["id"])[-1]
    assert last["action"] == "edit" and last["actor"] == "cli:me"
    assert json.loads(last["data"])["old"] == {"price": "3.50", "notes": None}
    cleared = run_cli("task", "edit", str(task["id"]), "--notes", "", "--json")
    assert json.loads(cleared.stdout)["notes"] is None
    assert run_cli("task", "close", str(task["id"]), "--reason", "结束").returncode == 0
    with pytest.raises(InputError, match="已关闭"):
        apply(db, task, account)
    assert history_of(db, "task", task["id"])[-1]["new_status"] == "closed"


def test_duplicate_external_id_is_refused(db):
    tasks.add_task(db, {**NOVEL, "external_id": "T-1"}, "cli:test")
    with pytest.raises(InputError, match="已经登记过"):
        tasks.add_task(db, {**NOVEL, "external_id": "T-1"}, "cli:test")


# --- task import ------------------------------------------------------------------------------
CSV_HEADER = "任务平台,任务编号,应用,原名,类型,结算方式,单价,转化行为,发布渠道,截止日期\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_task_import_reads_csv_in_every_encoding_and_is_idempotent(db, tmp_path, encoding):
    path = tmp_path / "tasks.csv"
    path.write_bytes((CSV_HEADER + "星推,A1,番茄小说,夜渡,小说,CPA,3.50,激活,抖音、快手,2099-12-31\n"
                      "星推,A2,七猫,长夜,小说,CPE,0.02,,抖音,\n").encode(encoding))
    first = import_tasks(db, path, "cli:test")
    assert (len(first.inserted), first.updated, first.unchanged) == (2, [], [])
    again = import_tasks(db, path, "cli:test")
    assert (again.inserted, again.updated, len(again.unchanged)) == ([], [], 2)
    row = dict(db["tasks"].get(first.inserted[1]))
    assert (row["app"], row["model"], row["price"], row["deadline"]) == ("七猫", "CPE", "0.02",
                                                                        None)


def test_task_import_reports_every_problem_by_line_and_stores_nothing(db, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(CSV_HEADER + "星推,A1,番茄小说,夜渡,小说,CPA,3.50,激活,抖音,2099-12-31\n"
                    "星推,A2,番茄小说,长夜,小说,CPA,-1,激活,抖音,\n"
                    "\n"
                    "星推,A3,番茄小说,,小说,CPA,1,激活,微博,\n", encoding="utf-8")
    result = run_cli("task", "import", str(path))
    assert result.returncode == 1
    assert f"{path}:3: 单价必须大于 0" in result.stderr
    assert f"{path}:5: " in result.stderr and "没有导入任何任务" in result.stderr
    assert db["tasks"].count == 0


def test_task_import_json_with_line_numbers_decimal_and_updates(db, tmp_path):
    path = tmp_path / "tasks.json"
    path.write_text('[\n  {"platform": "星推", "external_id": "B1", "app": "红果短剧",\n'
                    '   "title": "逆袭", "kind": "drama", "model": "CPS", "share": 0.35},\n'
                    '  {"platform": "星推", "external_id": "B2", "app": "红果短剧",\n'
                    '   "title": "重生", "kind": "drama", "model": "CPM", "price": 8.5}\n]\n',
                    encoding="utf-8")
    result = json.loads(run_cli("task", "import", str(path), "--json").stdout)
    assert len(result["inserted"]) == 2
    assert db.execute("SELECT share FROM tasks WHERE external_id = 'B1'").fetchone()[0] == "0.35"
    path.write_text(path.read_text("utf-8").replace("8.5", "9"), encoding="utf-8")
    result = json.loads(run_cli("task", "import", str(path), "--json").stdout)
    assert (result["inserted"], len(result["updated"]), len(result["unchanged"])) == ([], 1, 1)
    bad = tmp_path / "bad.json"
    bad.write_text('[\n {"platform": "星推", "app": "x", "title": "t", "kind": "novel"},\n'
                   ' {"platform": "星推", "app": "x", "title": "t", "kind": "novel",\n'
                   '  "model": "CPA", "share": 0.3}\n]', encoding="utf-8")
    refused = run_cli("task", "import", str(bad))
    assert refused.returncode == 1 and f"{bad}:3: 分成比例不适用于 CPA" in refused.stderr
    broken = tmp_path / "broken.json"
    broken.write_text('[\n {"platform": "星推",\n  "app": }\n]', encoding="utf-8")
    assert f"{broken}:3: JSON 格式错误" in run_cli("task", "import", str(broken)).stderr


def test_task_import_dry_run_stores_nothing(db, tmp_path):
    path = tmp_path / "tasks.csv"
    path.write_text(CSV_HEADER + "星推,A1,番茄小说,夜渡,小说,CPA,3.50,激活,抖音,\n", "utf-8")
    result = run_cli("task", "import", str(path), "--dry-run")
    assert result.returncode == 0 and "新增 1 个任务" in result.stdout and "试运行" in result.stdout
    assert db["tasks"].count == 0 and db["history"].count == 0


# --- accounts ---------------------------------------------------------------------------------
def test_account_add_prints_id_and_refuses_duplicates_and_unknown_channels(db):
    result = run_cli("account", "add", "--channel", "快手", "--handle", "ks_9", "--name", "九")
    assert result.returncode == 0 and result.stdout.strip().splitlines()[-1] == "1"
    assert "已经登记过" in run_cli("account", "add", "--channel", "快手", "--handle",
                                   "ks_9").stderr
    assert "未知的发布渠道「微博」" in run_cli("account", "add", "--channel", "微博", "--handle",
                                             "w").stderr
    listed = json.loads(run_cli("account", "list", "--json").stdout)
    assert [(a["channel"], a["handle"], a["name"]) for a in listed] == [("快手", "ks_9", "九")]


# --- keyword rules ----------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "message"), [
    ("夜渡 迷局", "第 3 个字符 ' ' 是空白"),
    ("夜渡\u200b迷局", "第 3 个字符 '\\u200b' 是空白或不可见字符"),
    ("夜渡😀", "第 3 个字符「😀」是符号或表情"),
    ("夜渡★", "第 3 个字符「★」是符号或表情"),
    ("夜渡【迷局】", "第 3 个字符「【」是标点"),
    ("夜渡ＡＢ", "第 3 个字符「Ａ」是全角字母或数字"),
    ("夜", "有 1 个字，应为 2–20 个字"),
    ("夜" * 21, "有 21 个字，应为 2–20 个字"),
    ("夜渡𪚥", "第 3 个字符「𪚥」内置字体里没有"),
    ("国家级好书", "第 1 个字起的「国家级」是违禁词"),
])
def test_each_base_rule_names_the_character_and_position(text, message):
    with pytest.raises(InputError, match=message.replace("\\", "\\\\")):
        check_keyword_text(text, WORDS)


def test_valid_keywords_pass_and_outer_spaces_are_dropped():
    assert check_keyword_text(" 夜渡迷局 ", WORDS) == "夜渡迷局"
    assert check_keyword_text("ye渡2", WORDS) == "ye渡2"


def test_task_rules_override_length_and_add_a_pattern():
    rules = KeywordRules(4, 6, r"[\u4e00-\u9fff]+", "任务 #3")
    assert check_keyword_text("夜渡迷局", WORDS, rules) == "夜渡迷局"
    with pytest.raises(InputError, match="有 3 个字，应为 4–6 个字（任务 #3的要求）"):
        check_keyword_text("夜渡局", WORDS, rules)
    with pytest.raises(InputError, match="不符合任务 #3的口令规则"):
        check_keyword_text("夜渡ab", WORDS, rules)


# --- keywords ---------------------------------------------------------------------------------
def test_apply_checks_the_task_rules_and_channels(db, task, account):
    strict = tasks.edit_task(db, task["id"], {"keyword_min": 5, "keyword_pattern": "夜.*"},
                             "cli:test")
    with pytest.raises(InputError, match="应为 5–20 个字"):
        apply(db, strict, account, "夜渡迷局")
    with pytest.raises(InputError, match="口令规则"):
        apply(db, strict, account, "长夜渡迷局")
    red = accounts.add_account(db, "小红书", "xhs", None, "cli:test")
    with pytest.raises(InputError, match="只允许在 抖音、快手 发布"):
        apply(db, strict, red, "夜渡迷局深")


def test_unique_in_task_and_one_active_per_task_and_account(db, task, account):
    first = apply(db, task, account)
    assert first["status"] == "pending"
    other = accounts.add_account(db, "快手", "ks", None, "cli:test")
    with pytest.raises(InputError, match="同一任务里口令不能重复"):
        apply(db, task, other, "夜渡迷局")
    with pytest.raises(InputError, match="同时只能有一个有效口令"):
        apply(db, task, account, "夜渡迷局二")
    with pytest.raises(sqlite3.IntegrityError):  # the database holds the rule too
        db["keywords"].insert({"task_id": task["id"], "account_id": account["id"],
                               "text": "别的口令", "status": "approved"})
    keywords.change_status(db, "夜渡迷局", "rejected", "cli:test", reason="与书名太像")
    assert apply(db, task, account, "夜渡迷局二")["status"] == "pending"
    second_task = tasks.add_task(db, {**NOVEL, "title": "长夜"}, "cli:test")
    assert apply(db, second_task, other, "夜渡迷局二")["task_id"] == second_task["id"]


def test_transitions_reasons_and_history(db, task, account):
    row = apply(db, task, account)
    with pytest.raises(InputError, match="--reason"):
        keywords.change_status(db, str(row["id"]), "rejected", "cli:a")
    approved = keywords.change_status(db, f"#{row['id']}", "approved", "app:alice")
    assert approved["status"] == "approved"
    keywords.change_status(db, "夜渡迷局", "rejected", "api:星推", reason="违规")
    with pytest.raises(InputError, match="已拒绝状态，不能改为已通过"):
        keywords.change_status(db, "夜渡迷局", "approved", "cli:a")
    steps = [(h["action"], h["old_status"], h["new_status"], h["actor"], h["reason"])
             for h in history_of(db, "keyword", row["id"])]
    assert steps == [("apply", None, "pending", "cli:test", None),
                     ("approve", "pending", "approved", "app:alice", None),
                     ("reject", "approved", "rejected", "api:星推", "违规")]
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE history SET actor = 'x'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM history")


def test_expired_when_read_past_the_task_deadline_or_its_own_date(db, task, account):
    apply(db, task, account)
    keywords.change_status(db, "夜渡迷局", "approved", "cli:test")
    other = accounts.add_account(db, "快手", "ks", None, "cli:test")
    own = apply(db, task, other, "长夜将尽", expires="2099-01-01")
    keywords.change_status(db, "长夜将尽", "approved", "cli:test")
    tasks.edit_task(db, task["id"], {"deadline": "2099-06-01"}, "cli:test")
    assert {k["status"] for k in keywords.list_keywords(db)} == {"approved"}
    db["keywords"].update(own["id"], {"expires_at": "2020-01-01"})  # its own date has passed
    statuses = {k["text"]: k["status"] for k in keywords.list_keywords(db)}
    assert statuses == {"夜渡迷局": "approved", "长夜将尽": "expired"}
    tasks.edit_task(db, task["id"], {"deadline": "2020-01-01"}, "cli:test")
    assert keywords.find_keyword(db, "夜渡迷局")["status"] == "expired"
    last = history_of(db, "keyword", own["id"])[-1]
    assert (last["action"], last["actor"], last["new_status"]) == ("expire", "system", "expired")


def test_ambiguous_text_asks_for_the_task(db, task, account):
    other_task = tasks.add_task(db, {**NOVEL, "title": "长夜"}, "cli:test")
    apply(db, task, account)
    apply(db, other_task, account)
    result = run_cli("keyword", "approve", "夜渡迷局")
    assert result.returncode == 1 and "在多个任务里都有" in result.stderr
    assert "--task" in result.stderr
    assert run_cli("keyword", "approve", "夜渡迷局", "--task", str(other_task["id"])
                   ).returncode == 0
    rows = json.loads(run_cli("keyword", "list", "--status", "approved", "--json").stdout)
    assert [(r["task_id"], r["text"]) for r in rows] == [(other_task["id"], "夜渡迷局")]


def test_keyword_cli_apply_prints_id_last_and_lists(db, task, account):
    result = run_cli("keyword", "apply", "夜渡迷局", "--task", str(task["id"]), "--account",
                     str(account["id"]))
    assert result.returncode == 0 and result.stdout.strip().splitlines()[-1] == "1"
    bad = run_cli("keyword", "apply", "夜渡😀", "--task", str(task["id"]), "--account",
                  str(account["id"]))
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1 and "第 3 个字符" in bad.stderr
    assert "夜渡迷局" in run_cli("keyword", "list", "--task", str(task["id"])).stdout
    rejected = run_cli("keyword", "reject", "1", "--reason", "太像书名")
    assert rejected.returncode == 0 and "已拒绝" in rejected.stdout
    history = run_cli("keyword", "history", "夜渡迷局").stdout
    assert "apply" in history and "reject" in history and "太像书名" in history


def test_task_add_through_the_installed_command():
    result = run_subprocess("task", "add", "--platform", "星推", "--app", "番茄小说", "--title",
                            "夜渡", "--kind", "novel")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "1"
