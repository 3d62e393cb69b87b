"""Which masking policy a panel applies, in one place, so that no panel decides alone.

Why a helper and not ``ctx.mask`` read directly: the field is optional (contexts built
before it existed, tests, a panel shown outside the shell), and an absent policy must
fall back to the role's (``Mask.for_role``: on for leader and viewer), never to "off".
Every panel that shows text coming from a reporter (case titles, descriptions,
addresses, alert messages, raw feed details) passes it through ``mask_of(ctx)``; the
shell forces a policy with ``enabled=True`` onto every briefing screen, whatever the
role of the layout shown.
"""

from __future__ import annotations

from typing import Any

from commandcenter.privacy import MASKED_ROLES, Mask
from commandcenter.store import Store


def mask_of(ctx: Any) -> Mask:
    """The context's policy; without one, the role's (and masked when the role is
    unknown: a screen that cannot say who looks at it is treated as public)."""
    mask = getattr(ctx, "mask", None)
    if isinstance(mask, Mask):
        return mask
    try:
        return Mask.for_role(getattr(ctx, "role", "viewer"))
    except ValueError:
        return Mask(enabled=True)


def masks_for(roles: tuple[Any, ...]) -> Mask:
    """Masked when any of ``roles`` is a masked role (the layout's and the operator's)."""
    enabled = False
    for r in roles:
        try:
            enabled = enabled or Mask.for_role(r).enabled
        except ValueError:
            enabled = True
    return Mask(enabled=enabled)


def reporter_of(store: Store, case_id: str) -> tuple[str, ...]:
    """The reporter's name of a case, as the ``names`` argument of ``Mask.text`` (free
    text such as an alert message may repeat it)."""
    if not case_id:
        return ()
    rec = store.case(case_id)
    name = (getattr(rec, "reporter_name", "") or "") if rec is not None else ""
    return (name,) if name else ()


__all__ = ["MASKED_ROLES", "mask_of", "masks_for", "reporter_of"]
