"""Who makes a plan's visits. Every plan has somebody who may see its resident: the assignee named,
else the resident's first visitor (`audience.next_visitor`: the primary watcher, else the
longest-serving backup, whoever may see the resident now). A plan nobody can make is refused with
a 422 that says why, in the reader's language; plans stored before this rule (no assignee) are
repaired by `schedules.reassignment.follow_sight`.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import who_may_see, why_hidden
from domain.enums import AssignmentRole
from domain.errors import FieldError, InvalidInput
from domain.i18n import register
from domain.models import Assignment, Resident, User
from schedules import audience

register(
    {
        "plan.no_assignee": {
            "ja": "この対象者には担当者が割り当てられていないため、訪問する人がいません。"
            "対象者に担当（主担当）を割り当てるか、計画の担当者（assignee_id）を指定してください。",
            "en": "Nobody would make these visits: no one is assigned to this resident. Assign a "
            "primary watcher to the resident or name the plan's assignee (assignee_id).",
        },
        "plan.default_assignee_cannot_see": {
            "ja": "対象者の担当者はこの対象者を閲覧できないため、計画の担当にできません。"
            "計画の担当者（assignee_id）を指定してください。",
            "en": "The resident's assigned watcher may not see the resident, so the plan cannot "
            "default to them. Name the plan's assignee (assignee_id).",
        },
    }
)


async def check_assignee(session: AsyncSession, org_id: str, assignee_id: str, resident: Resident) -> None:
    """The assignee must be an active user of the organisation who may see the resident: a visit
    must never send somebody a resident's name that consent keeps from them (422 says why)."""
    problem = await assignee_problem(session, org_id, assignee_id, resident)
    if problem == UNKNOWN_ASSIGNEE:
        raise InvalidInput.field("assignee_id", problem)
    if problem is not None:
        raise InvalidInput(errors=[FieldError("assignee_id", problem)], status=422)


UNKNOWN_ASSIGNEE = "plan.assignee_unknown"


async def assignee_problem(
    session: AsyncSession, org_id: str, assignee_id: str, resident: Resident
) -> str | None:
    """Why `assignee_id` may not be given the resident's visits (a message code: not a user of the
    organisation or not active, `UNKNOWN_ASSIGNEE`; else `domain.access.why_hidden`'s), or None.
    The one rule for a plan's assignee (REST) and a visit's (REST and sync push)."""
    user = await session.get(User, assignee_id)
    if user is None or user.org_id != org_id or not user.active:
        return UNKNOWN_ASSIGNEE
    if not await who_may_see(session, [(assignee_id, resident.id)]):
        return await why_hidden(session, user, resident)
    return None


async def plan_assignee(
    session: AsyncSession, org_id: str, resident: Resident, assignee_id: str | None
) -> str:
    """The assignee a plan gets: the one named (checked), else the resident's first visitor."""
    if assignee_id is not None:
        await check_assignee(session, org_id, assignee_id, resident)
        return assignee_id
    visitor = (await audience.next_visitor(session, [resident.id])).get(resident.id)
    if visitor is not None:
        return visitor
    # Nobody assigned may see the resident: say why for the one who would have been chosen.
    first = await session.scalar(
        select(User)
        .join(Assignment, Assignment.user_id == User.id)
        .where(
            Assignment.resident_id == resident.id,
            Assignment.ended_at.is_(None),
            Assignment.deleted_at.is_(None),
        )
        .order_by(Assignment.role != AssignmentRole.PRIMARY, Assignment.started_at, Assignment.user_id)
        .limit(1)
    )
    if first is None:
        raise InvalidInput(
            "plan.no_assignee", errors=[FieldError("assignee_id", "plan.no_assignee")], status=422
        )
    raise InvalidInput(
        "plan.default_assignee_cannot_see",
        errors=[FieldError("assignee_id", await why_hidden(session, first, resident))],
        status=422,
    )
