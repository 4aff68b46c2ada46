"""An invitation, a page of them and its history, as the clinician sees them (a link only while
pending)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from invitations.clock import iso
from invitations.models.invitations import Delivery, History, HistoryItem, InvitationOut, InvitationPage

if TYPE_CHECKING:  # annotations only
    from datetime import datetime

    from invitations.domain.history import HistoryEntry
    from invitations.domain.invitation import Invitation
    from invitations.ports import Links
    from invitations.read_model import Page


def invitation_out(inv: Invitation, now: datetime, links: Links) -> InvitationOut:
    status = inv.status_at(now)
    return InvitationOut(
        id=inv.id,
        first_name=inv.first_name,
        last_name=inv.last_name,
        email=inv.email,
        phone=inv.phone,
        channel=inv.channel,
        status=status,
        link=links.url(inv.id, inv.link_version) if status == "pending" else None,
        created_at=iso(inv.created_at),
        sent_at=iso(inv.sent_at),
        expires_at=iso(inv.expires_at),
        accepted_at=iso(inv.accepted_at) if inv.accepted_at else None,
        patient_id=inv.patient_id,
        delivery=Delivery(
            status=inv.delivery.status,
            channel=inv.delivery.channel or inv.channel,
            at=iso(inv.delivery.at),
            detail=inv.delivery.detail,
        ),
        send_count=inv.send_count,
        locale=inv.locale,  # type: ignore[arg-type]
        time_zone=inv.time_zone,
        help_link=links.help(inv.locale),
    )


def invitation_page(page: Page, links: Links) -> InvitationPage:
    return InvitationPage(
        items=[invitation_out(inv, page.now, links) for inv in page.items], next_cursor=page.next_cursor
    )


def history_out(entries: list[HistoryEntry]) -> History:
    return History(
        items=[
            HistoryItem(
                type=e.type,
                at=iso(e.at),
                actor=e.actor.kind,
                actor_id=e.actor.id,
                channel=e.channel,  # type: ignore[arg-type]
                detail=e.detail,
            )
            for e in entries
        ]
    )
