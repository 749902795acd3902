"""make_script in-process: job records for success, cache hits and failures."""

from __future__ import annotations

from dataclasses import replace

import pytest
from conftest import SAMPLES
from llm_server import llm_server  # noqa: F401  (fixture)

from workbench.errors import BackendError, InputError
from workbench.materials.library import add_material
from workbench.pipeline import ScriptJob, make_script

KEY = "sk-test-PIPELINE-SECRET-42"


@pytest.fixture
def material(db):
    row, _ = add_material(db, SAMPLES / "night-ferry.txt")
    return row


def test_rules_script_recorded_and_cached(settings, db, material):
    job = ScriptJob(material_id=material["id"], chapter=3, template="comeback", keyword="夜渡迷局")
    seen: list[tuple[float, str]] = []
    first = make_script(job, settings, db, lambda f, m: seen.append((f, m)))
    assert first.script.backend == "rules" and not first.script.cached
    assert seen[-1][0] == 1.0 and all(0 <= f <= 1 for f, _ in seen)
    second = make_script(job, settings, db)
    assert second.script.cached and second.script.segments == first.script.segments
    other_seed = make_script(replace(job, seed=7), settings, db)
    assert not other_seed.script.cached
    rows = list(db["jobs"].rows_where(order_by="id"))
    assert [(r["status"], r["cache_hit"]) for r in rows] == [("done", 0), ("done", 1), ("done", 0)]
    assert rows[0]["recipe_hash"] == rows[1]["recipe_hash"] != rows[2]["recipe_hash"]
    assert rows[0]["template_id"] == "comeback" and rows[0]["prompt_id"] == "narration"


def test_backend_failure_is_recorded_without_the_key(settings, db, material, llm_server):  # noqa: F811
    llm_server.plan_error(401, f"Incorrect API key provided: {KEY}", code="invalid_api_key")
    online = replace(settings, llm_api_key=KEY, llm_base_url=llm_server.base_url,
                     llm_max_retries=0)
    job = ScriptJob(material_id=material["id"], chapter=2, template="suspense", keyword="夜渡迷局")
    with pytest.raises(BackendError, match="OPENAI_API_KEY") as info:
        make_script(job, online, db)
    assert KEY not in str(info.value)
    row = db["jobs"].get(1)
    assert row["status"] == "failed" and "OPENAI_API_KEY" in row["error"]
    assert row["backend"] == "openai"
    assert KEY not in "\n".join(db.iterdump())
    assert db["stage_cache"].count == 0  # failures are not cached


def test_unknown_chapter_is_clear(settings, db, material):
    job = ScriptJob(material_id=material["id"], chapter=99, template="suspense",
                    keyword="夜渡迷局")
    with pytest.raises(InputError, match="99"):
        make_script(job, settings, db)
    assert db["jobs"].count == 0  # nothing to record: the job never started
