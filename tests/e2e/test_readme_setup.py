"""The README's "Setting up a municipality", run as written against a fresh database: the shell
block is executed by bash (set -euo pipefail), with the real `mimamori` command and curl against a
served app. Only the server's address is replaced (the test serves on a free port)."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from api.app import create_app
from domain.db import create_db_config, session_scope
from domain.enums import AssignmentRole, ConsentRecipient, ConsentStatus
from domain.models import Assignment, Consent, District, Resident, User, Visit, VisitPlan
from domain.settings import Settings
from tests.live_server import serving

ROOT = Path(__file__).resolve().parents[2]
SECRET = "readme-walkthrough-key-0123456789-abcdefghijklmnop"


def walkthrough() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- setup-walkthrough -->\n```sh\n(.*?)\n```", readme, re.DOTALL)
    assert match, "the README lost its setup walkthrough"
    return match.group(1)


@pytest.mark.slow
def test_the_readme_sets_up_a_municipality_as_written(empty_database_url: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "DATABASE_URL": empty_database_url,
        "MIMAMORI_DATA_DIR": str(tmp_path),
        "MIMAMORI_SECRET_KEY": SECRET,
        "MIMAMORI_ENVIRONMENT": "test",
        "MIMAMORI_PASSWORD_HASH_PROFILE": "fast",
        "LANG": "ja_JP.UTF-8",
    }
    migrated = subprocess.run(["mimamori", "migrate"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert migrated.returncode == 0, migrated.stderr
    settings = Settings(
        environment="test",
        database_url=empty_database_url,
        db_pool_disabled=True,
        data_dir=tmp_path,
        secret_key=SECRET,
        run_scheduler=False,
        push_transport="recording",
        log_level="WARNING",
        password_hash_profile="fast",
    )
    with serving(create_app(settings)) as base:
        script = walkthrough().replace("http://127.0.0.1:8000", base)
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"

    state = asyncio.run(_stored(settings))
    assert state["districts"] == {"中央地区", "北地区", "南地区"}
    assert state["residents"] == {"山田 花子", "鈴木 一郎", "高橋 幸子"}
    assert state["activated"]  # the coordinator set a password with the printed code
    assert state["consents"] == {
        (ConsentRecipient.DISTRICT_COMMISSIONER, ConsentStatus.GIVEN),
        (ConsentRecipient.VOLUNTEERS, ConsentStatus.GIVEN),
    }
    assert state["assignment"] == (state["minsei"], AssignmentRole.PRIMARY)
    assert state["plan_assignee"] == state["minsei"] and state["visits"] > 0


async def _stored(settings: Settings) -> dict[str, Any]:
    config = create_db_config(settings)
    try:
        async with session_scope(config) as session:
            districts = set(await session.scalars(select(District.name)))
            residents = {r.name: r for r in await session.scalars(select(Resident))}
            minsei = await session.scalar(select(User).where(User.login == "tanaka-minsei"))
            coordinator = await session.scalar(select(User).where(User.login == "sato-coord"))
            hanako = residents["山田 花子"]
            consents = {
                (c.recipient, c.status)
                for c in await session.scalars(select(Consent).where(Consent.resident_id == hanako.id))
            }
            assignment = await session.scalar(select(Assignment).where(Assignment.resident_id == hanako.id))
            plan = await session.scalar(select(VisitPlan).where(VisitPlan.resident_id == hanako.id))
            visits = (
                list(await session.scalars(select(Visit).where(Visit.plan_id == plan.id))) if plan else []
            )
    finally:
        await config.get_engine().dispose()
    return {
        "districts": districts,
        "residents": set(residents),
        "activated": coordinator.password_hash is not None,
        "consents": consents,
        "minsei": minsei.id,
        "assignment": (assignment.user_id, assignment.role) if assignment else None,
        "plan_assignee": plan.assignee_id if plan else None,
        "visits": len(visits),
    }
