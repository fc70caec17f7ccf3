"""Offline sync for phones: the WatermelonDB protocol, scoped per user, idempotent, losing nothing.

`controllers.SyncController` serves pull / push / schema / quarantine; `pull` and `push` hold the
logic; `schema` is the client schema with every published version.
"""

from sync import messages as _messages  # noqa: F401  (registers the slice's texts)
