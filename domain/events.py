"""Cross-slice hooks, so that slices never import each other to react to a domain event.

`sync` (and any API path) calls `await contact_recorded(session, note)` after a contact note is
written; `schedules` registers the listener that fulfils the visit, resolves alerts as
`recorded_late`, and applies the outcome rules. Listeners run in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import ContactNote

NoteListener = Callable[[AsyncSession, ContactNote], Awaitable[None]]
_note_listeners: list[NoteListener] = []


def on_contact_recorded(listener: NoteListener) -> NoteListener:
    if listener not in _note_listeners:
        _note_listeners.append(listener)
    return listener


async def contact_recorded(session: AsyncSession, note: ContactNote) -> None:
    for listener in list(_note_listeners):
        await listener(session, note)
