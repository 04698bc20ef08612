"""``audit(...)``: record one event of the current request (its user and address filled in)."""
from __future__ import annotations

from flask_limiter.util import get_remote_address
from flask_login import current_user

from ..services import services

_CURRENT = object()


def audit(action: str, *, owner_id: str | None = None, share_id=None, target_id=None, actor_id=_CURRENT,
          **details) -> None:
    """Queue an event (see app.audit.log). ``actor_id`` defaults to the logged-in user."""
    if actor_id is _CURRENT:
        actor_id = current_user.id if current_user and current_user.is_authenticated else None
    services().audit.record(action, actor_id=actor_id, owner_id=owner_id,
                            share_id=None if share_id is None else str(share_id), target_id=target_id,
                            address=get_remote_address(), **details)
