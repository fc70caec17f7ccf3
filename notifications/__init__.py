"""Notifications: outbox, inbox, push transports, templates, and alert handling for coordinators.

What other slices use:

* `notifications.outbox.enqueue(session, org_id=, user_ids=, kind=, ...)` — write inbox messages and
  pending pushes in the caller's transaction. Leave `title` out and pass `params` to have each
  recipient's text rendered from the template of `kind` in their locale.
* `notifications.templates.render(kind, locale, **params)` and `MessageKind` — the message texts.
* `notifications.dispatcher.dispatch_once(db_config) -> int` — the periodic job.
* `notifications.wakeup.wake()` — ask the dispatcher to run now (done after commit for urgent ones;
  other processes' dispatchers hear it through `domain.live.OUTBOX`).
* `notifications.devices.register_push_token(session, device, token)` — used at login.
"""
