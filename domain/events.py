"""Cross-slice hooks, so that slices never import each other to react to a domain event.

`sync` (and any API path) calls `await contact_recorded(session, note)` after a contact note is
written; `schedules` registers the listener that fulfils the visit, resolves alerts as
`recorded_late`, and applies the outcome rules. Listeners run in the caller's transaction. Whoever
deletes a note, or corrects its outcome, time or visit, first calls `await contact_withdrawn(session,
note)`: `schedules` takes back what the note did that no longer holds (visits it fulfilled are
planned again, alerts it resolved open again).

Whoever changes who may see a resident (consent, assignments, a user's districts, role or active
flag) calls `await sight_changed(session, resident_ids=..., user_ids=...)`; `schedules` moves
visits and plans off assignees who lost sight (`schedules.reassignment`).

Whoever pauses, ends or resumes a resident calls `await resident_status_changed(session, resident)`;
`schedules` cancels the resident's visits still ahead, or expands their plans again on resuming.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import ContactNote, Resident

NoteListener = Callable[[AsyncSession, ContactNote], Awaitable[None]]
_note_listeners: list[NoteListener] = []


def on_contact_recorded(listener: NoteListener) -> NoteListener:
    if listener not in _note_listeners:
        _note_listeners.append(listener)
    return listener


async def contact_recorded(session: AsyncSession, note: ContactNote) -> None:
    for listener in list(_note_listeners):
        await listener(session, note)


_withdrawn_listeners: list[NoteListener] = []


def on_contact_withdrawn(listener: NoteListener) -> NoteListener:
    if listener not in _withdrawn_listeners:
        _withdrawn_listeners.append(listener)
    return listener


async def contact_withdrawn(session: AsyncSession, note: ContactNote) -> None:
    """The note was deleted, or its outcome, time or visit corrected (in this transaction, flushed):
    what it did may no longer hold. A corrected note is then recorded again (`contact_recorded`)."""
    for listener in list(_withdrawn_listeners):
        await listener(session, note)


SightListener = Callable[[AsyncSession, set[str], set[str]], Awaitable[None]]
_sight_listeners: list[SightListener] = []


def on_sight_changed(listener: SightListener) -> SightListener:
    if listener not in _sight_listeners:
        _sight_listeners.append(listener)
    return listener


async def sight_changed(
    session: AsyncSession, *, resident_ids: Iterable[str] = (), user_ids: Iterable[str] = ()
) -> None:
    """Who may see these residents, or what these users may see, has just changed (in this
    transaction, flushed or not)."""
    await session.flush()
    residents, users = set(resident_ids), set(user_ids)
    for listener in list(_sight_listeners):
        await listener(session, residents, users)


StatusListener = Callable[[AsyncSession, Resident], Awaitable[None]]
_status_listeners: list[StatusListener] = []


def on_resident_status_changed(listener: StatusListener) -> StatusListener:
    if listener not in _status_listeners:
        _status_listeners.append(listener)
    return listener


async def resident_status_changed(session: AsyncSession, resident: Resident) -> None:
    """The resident was just paused, ended or made active again (in this transaction)."""
    await session.flush()
    for listener in list(_status_listeners):
        await listener(session, resident)
