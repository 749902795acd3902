"""The loop end to end through the commands a studio types: a task, an account, a keyword,
a tracking export imported twice (GBK, as Excel writes it), a correction, and what is owed."""

from __future__ import annotations

import json

from cli_runner import run_cli


def last_line(result) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_from_task_to_settlement(tmp_path):
    cpa = last_line(run_cli("task", "add", "--platform", "星推", "--app", "番茄小说", "--title",
                            "夜渡", "--kind", "novel", "--model", "CPA", "--price", "3.50",
                            "--action", "activation", "--channel", "抖音"))
    cpm = last_line(run_cli("task", "add", "--platform", "星推", "--app", "红果短剧", "--title",
                            "逆袭", "--kind", "drama", "--model", "CPM", "--price", "8.00"))
    account = last_line(run_cli("account", "add", "--channel", "抖音", "--handle", "dy_1"))
    last_line(run_cli("keyword", "apply", "夜渡迷局", "--task", cpa, "--account", account))
    last_line(run_cli("keyword", "apply", "逆袭之夜", "--task", cpm, "--account", account))
    for keyword in ("夜渡迷局", "逆袭之夜"):
        last_line(run_cli("keyword", "approve", keyword))

    export = tmp_path / "回传.csv"
    export.write_bytes(("日期,口令,播放量,激活数\n"
                        "2026-11-20,夜渡迷局,1200,100\n"
                        "2026-11-21,夜渡迷局,1500,116\n"
                        "2026-11-20,逆袭之夜,1005,\n"
                        "2026-11-21,无名口令,10,1\n").encode("gbk"))
    first = json.loads(run_cli("tracking", "import", str(export), "--json").stdout)
    assert (first["inserted"], first["updated"], first["unchanged"]) == (3, 0, 0)
    assert [r["line"] for r in first["rejected"]] == [5]
    again = json.loads(run_cli("tracking", "import", str(export), "--json").stdout)
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, 3)

    lines = json.loads(run_cli("settle", "--json").stdout)
    owed = {line["keyword"]: (line["model"], line["amount"], line["held"]) for line in lines}
    # CPA: (100 + 116) × 3.50 = 756.00; CPM: 1005 / 1000 × 8.00 = 8.04
    assert owed == {"夜渡迷局": ("CPA", "756.00", "0.00"), "逆袭之夜": ("CPM", "8.04", "0.00")}

    export.write_bytes(("日期,口令,播放量,激活数\n"
                        "2026-11-21,夜渡迷局,1500,120\n").encode("gbk"))  # the platform re-issued a day
    fixed = json.loads(run_cli("tracking", "import", str(export), "--json").stdout)
    assert (fixed["inserted"], fixed["updated"]) == (0, 1)
    by_task = json.loads(run_cli("settle", "--by", "task", "--task", cpa, "--json").stdout)
    assert [(line["task_id"], line["amount"]) for line in by_task] == [(int(cpa), "770.00")]
