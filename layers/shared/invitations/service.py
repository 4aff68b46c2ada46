"""The use cases, one method each: they load, apply a rule from `domain`, and store the result
with a conditional write, retrying on a lost race. Nothing here knows about Lambda or HTTP."""

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

from invitations import domain, messages
from invitations.clock import Clock, iso
from invitations.delivery import DeliveryFailed, EventPublisher, Messenger
from invitations.domain import Contact, Correction, DeliveryOutcome, Invitation, Patient, Rules
from invitations.errors import Busy, InvalidCursor, LinkGone, NotFound
from invitations.models import (
    Accepted,
    Delivery,
    InvitationCreate,
    InvitationOut,
    InvitationPage,
    LinkView,
    PatientOut,
    Status,
)
from invitations.observability import Counter, logger
from invitations.repository import ConcurrentChange, DynamoRepository, sent_key
from invitations.text import matches, words
from invitations.tokens import TokenSigner

T = TypeVar("T")
_ATTEMPTS = 8


@dataclass(frozen=True)
class Clinician:
    id: str
    name: str


@dataclass(frozen=True)
class ExpiryRun:
    expired: int
    complete: bool


class InvitationService:
    def __init__(
        self,
        repo: DynamoRepository,
        messenger: Messenger,
        events: EventPublisher,
        signer: TokenSigner,
        clock: Clock,
        rules: Rules,
        base_url: str,
        counter: Counter | None = None,
    ) -> None:
        self.repo = repo
        self.messenger = messenger
        self.events = events
        self.signer = signer
        self.clock = clock
        self.rules = rules
        self.base_url = base_url.rstrip("/")
        self._counter = counter

    # -- presentation --------------------------------------------------------------------------

    def link(self, invitation: Invitation) -> str:
        return self.link_of(invitation.id, invitation.link_version)

    def link_of(self, invitation_id: str, link_version: int) -> str:
        return f"{self.base_url}/i/{self.signer.link_token(invitation_id, link_version)}"

    def present(self, inv: Invitation, now: datetime | None = None) -> InvitationOut:
        status = inv.status_at(now or self.clock.now())
        return InvitationOut(
            id=inv.id,
            first_name=inv.first_name,
            last_name=inv.last_name,
            email=inv.email,
            phone=inv.phone,
            channel=inv.channel,
            status=status,
            link=self.link(inv) if status == "pending" else None,
            created_at=iso(inv.created_at),
            sent_at=iso(inv.sent_at),
            expires_at=iso(inv.expires_at),
            accepted_at=iso(inv.accepted_at) if inv.accepted_at else None,
            patient_id=inv.patient_id,
            delivery=Delivery(status=inv.delivery.status, at=iso(inv.delivery.at), detail=inv.delivery.detail),
            send_count=inv.send_count,
            locale=inv.locale,  # type: ignore[arg-type]
        )

    @staticmethod
    def present_patient(p: Patient) -> PatientOut:
        return PatientOut(
            id=p.id,
            first_name=p.first_name,
            last_name=p.last_name,
            email=p.email,
            phone=p.phone,
            invitation_id=p.invitation_id,
            thread=p.thread,
            created_at=iso(p.created_at),
            updated_at=iso(p.updated_at),
            left_at=iso(p.left_at) if p.left_at else None,
        )

    # -- plumbing ------------------------------------------------------------------------------

    def _count(self, name: str) -> None:
        if self._counter:
            self._counter.count(name)

    def _publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        # The state change is already stored: a failed publication is logged and counted, never
        # turned into an error for a request that did succeed.
        try:
            self.events.publish(detail_type, detail)
        except Exception as error:  # noqa: BLE001 - any publisher failure is handled alike
            logger.error("event not published", extra={"detail_type": detail_type, "error_type": type(error).__name__})
            self._count("EventPublishFailures")

    def _transition(
        self,
        load: Callable[[], T],
        decide: Callable[[T], T | None],
        save: Callable[[T, T], T],
        first: T | None = None,
    ) -> tuple[T, bool]:
        """Apply `decide` to the current state and store it conditionally; on a lost race,
        re-read and decide again. Returns (state, changed)."""
        current = first if first is not None else load()
        for _ in range(_ATTEMPTS):
            new = decide(current)
            if new is None:
                return current, False
            try:
                return save(new, current), True
            except ConcurrentChange:
                current = load()
        raise Busy()

    def _stored(self, invitation_id: str) -> Callable[[], Invitation]:
        def load() -> Invitation:
            invitation = self.repo.get_invitation(invitation_id)
            if invitation is None:
                raise NotFound()
            return invitation

        return load

    def _own_invitation(self, clinician: Clinician, invitation_id: str) -> Callable[[], Invitation]:
        def load() -> Invitation:
            return domain.ensure_visible(self.repo.get_invitation(invitation_id), clinician.id)

        return load

    def _deliver(self, invitation: Invitation) -> Invitation:
        """Send the current link on the current channel and record the outcome on the invitation.
        A failure keeps the invitation (its link can be copied, or it can be resent)."""
        link = self.link(invitation)
        try:
            if invitation.channel == "email":
                assert invitation.email
                mail = messages.invitation_email(
                    invitation.first_name, invitation.clinician_name, link, invitation.expires_at, invitation.locale
                )
                self.messenger.send_email(invitation.email, mail.subject, mail.text, mail.html)
            else:
                assert invitation.phone
                text = messages.invitation_sms(
                    invitation.clinician_name, link, invitation.expires_at, invitation.locale
                )
                self.messenger.send_sms(invitation.phone, text)
            outcome = DeliveryOutcome("sent", self.clock.now())
        except DeliveryFailed as failure:
            logger.warning("delivery failed", extra={"invitation_id": invitation.id, "reason": str(failure)})
            self._count("DeliveryFailures")
            outcome = DeliveryOutcome("failed", self.clock.now(), str(failure))

        def record(current: Invitation) -> Invitation | None:
            # Only the outcome of the link that is still current is worth recording.
            if current.link_version != invitation.link_version:
                return None
            return replace(current, delivery=outcome)

        stored, _ = self._transition(self._stored(invitation.id), record, self.repo.save_invitation, first=invitation)
        return stored

    def _sent_event(self, inv: Invitation) -> None:
        self._count("InvitationsSent")
        self._publish(
            "InvitationSent",
            {
                "invitation_id": inv.id,
                "clinician_id": inv.clinician_id,
                "channel": inv.channel,
                "send_count": inv.send_count,
                "sent_at": iso(inv.sent_at),
                "expires_at": iso(inv.expires_at),
                "delivery_status": inv.delivery.status,
            },
        )
        logger.info(
            "invitation sent",
            extra={"invitation_id": inv.id, "channel": inv.channel, "delivery_status": inv.delivery.status},
        )

    # -- clinicians: invitations ---------------------------------------------------------------

    def send(self, clinician: Clinician, request: InvitationCreate) -> Invitation:
        contact = Contact(request.first_name, request.last_name, request.email, request.phone, request.locale)
        invitation = domain.create_invitation(contact, clinician.id, clinician.name, self.clock.now(), self.rules)
        stored = self.repo.save_invitation(invitation, None)
        delivered = self._deliver(stored)
        self._sent_event(delivered)
        return delivered

    def get(self, clinician: Clinician, invitation_id: str) -> Invitation:
        return self._own_invitation(clinician, invitation_id)()

    def correct(self, clinician: Clinician, invitation_id: str, changes: dict[str, str | None]) -> Invitation:
        now = self.clock.now()
        stored, _ = self._transition(
            self._own_invitation(clinician, invitation_id),
            lambda current: domain.correct(current, Correction(changes), now),
            self.repo.save_invitation,
        )
        logger.info("invitation corrected", extra={"invitation_id": invitation_id, "fields": sorted(changes)})
        return stored

    def resend(self, clinician: Clinician, invitation_id: str) -> Invitation:
        now = self.clock.now()
        stored, _ = self._transition(
            self._own_invitation(clinician, invitation_id),
            lambda current: domain.resend(current, now, self.rules),
            self.repo.save_invitation,
        )
        delivered = self._deliver(stored)
        self._sent_event(delivered)
        return delivered

    def delete(self, clinician: Clinician, invitation_id: str) -> None:
        now = self.clock.now()
        stored, _ = self._transition(
            self._own_invitation(clinician, invitation_id),
            lambda current: domain.delete(current, now),
            self.repo.save_invitation,
        )
        self._publish(
            "InvitationDeleted",
            {"invitation_id": stored.id, "clinician_id": stored.clinician_id, "deleted_at": iso(now)},
        )
        logger.info("invitation deleted", extra={"invitation_id": invitation_id})

    def list_page(
        self, clinician: Clinician, q: str | None, status: Status | None, limit: int, cursor: str | None
    ) -> InvitationPage:
        now = self.clock.now()
        scope = f"{clinician.id}\0{q or ''}\0{status or ''}"
        before = None
        if cursor:
            position = self.signer.open_cursor(scope, cursor)
            if position is None or "before" not in position:
                raise InvalidCursor()
            before = position["before"]
        query_words = words(q or "")
        if query_words:
            found = self._search(clinician, query_words, status, before, limit + 1, now)
        elif q and q.strip():
            found = []  # '-' or '!!': no word of any name can start with it
        else:
            found = self._browse(clinician, status, before, limit + 1, now)
        page = found[:limit]
        next_cursor = self.signer.sign_cursor(scope, {"before": sent_key(page[-1])}) if len(found) > limit else None
        return InvitationPage(items=[self.present(inv, now) for inv in page], next_cursor=next_cursor)

    def _browse(
        self, clinician: Clinician, status: Status | None, before: str | None, n: int, now: datetime
    ) -> list[Invitation]:
        repo = self.repo
        if status is None:
            return repo.list_invitations(clinician.id, None, before, n)
        if status == "pending":
            return repo.list_invitations(clinician.id, "pending", before, n, live_at=now)
        if status == "accepted":
            return repo.list_invitations(clinician.id, "accepted", before, n)
        # Expired = stored as expired, plus pending ones past expiry that no job has flipped yet.
        merged = repo.list_invitations(clinician.id, "expired", before, n) + repo.list_invitations(
            clinician.id, "pending", before, n, expired_by=now
        )
        return sorted(merged, key=sent_key, reverse=True)[:n]

    def _search(
        self,
        clinician: Clinician,
        query_words: list[str],
        status: Status | None,
        before: str | None,
        n: int,
        now: datetime,
    ) -> list[Invitation]:
        """Reads the index entries that match the most selective word, then only the
        invitations of the page: cost follows the matches, not the clinician's history."""
        hits = self.repo.search_names(clinician.id, query_words)
        ordered = sorted((key, inv_id) for inv_id, key in hits.items() if before is None or key < before)
        ordered.reverse()
        found: list[Invitation] = []
        for start in range(0, len(ordered), n):
            batch = self.repo.get_invitations([inv_id for _, inv_id in ordered[start : start + n]])
            for inv in sorted(batch, key=sent_key, reverse=True):
                if inv.clinician_id != clinician.id:
                    continue
                if not matches(query_words, set(words(inv.first_name)) | set(words(inv.last_name))):
                    continue
                if status is not None and inv.status_at(now) != status:
                    continue
                found.append(inv)
            if len(found) >= n:
                break
        return found[:n]

    # -- patients (public, by link) ------------------------------------------------------------

    def _by_token(self, token: str) -> Callable[[], Invitation]:
        invitation_id = self.signer.invitation_id_of(token)

        def load() -> Invitation:
            invitation = self.repo.get_invitation(invitation_id) if invitation_id else None
            if invitation is None or not self.signer.verify(token, invitation.id, invitation.link_version):
                raise LinkGone()
            if invitation.stored_status == "deleted":
                raise LinkGone()
            return invitation

        return load

    def view_link(self, token: str) -> tuple[Invitation, LinkView]:
        now = self.clock.now()
        invitation = self._by_token(token)()
        if invitation.stored_status != "accepted":
            domain.ensure_link_usable(invitation, now)
        view = LinkView(
            status=invitation.status_at(now),
            clinician_name=invitation.clinician_name,
            expires_at=iso(invitation.expires_at),
        )
        return invitation, view

    def accept(self, token: str) -> tuple[Invitation, Accepted]:
        """Idempotent: the same link again answers the same patient id. The state change and
        the patient record are one transaction, so exactly one accept ever wins."""
        now = self.clock.now()
        load = self._by_token(token)
        created: dict[str, Patient] = {}

        def decide(current: Invitation) -> Invitation | None:
            if current.stored_status == "accepted":
                return None
            accepted, patient = domain.accept(current, now)
            created["patient"] = patient
            return accepted

        def save(new: Invitation, previous: Invitation) -> Invitation:
            return self.repo.save_invitation(new, previous, patient=created["patient"])

        stored, changed = self._transition(load, decide, save)
        assert stored.patient_id is not None
        if changed:
            patient = created["patient"]
            self._count("InvitationsAccepted")
            self._publish(
                "InvitationAccepted",
                {
                    "invitation_id": stored.id,
                    "clinician_id": stored.clinician_id,
                    "patient_id": patient.id,
                    "accepted_at": iso(now),
                    "locale": stored.locale,
                    "thread": {"clinician_id": stored.clinician_id, "patient_id": patient.id},
                },
            )
            logger.info("invitation accepted", extra={"invitation_id": stored.id, "patient_id": patient.id})
        return stored, Accepted(status="accepted", patient_id=stored.patient_id)

    # -- scheduled -----------------------------------------------------------------------------

    def expire_overdue(self, has_time: Callable[[], bool]) -> ExpiryRun:
        """Flip every overdue pending invitation to expired, once each. Safe to run twice at
        once (the conditional write lets one run win); stops early, resumable, when time is short."""
        now = self.clock.now()
        expired = 0
        for overdue in self.repo.overdue(now):
            if not has_time():
                logger.info("expiry run paused", extra={"expired": expired})
                return ExpiryRun(expired, complete=False)
            try:
                stored, changed = self._transition(
                    self._stored(overdue.id),
                    lambda current: domain.expire(current) if current.is_overdue(now) else None,
                    self.repo.save_invitation,
                    first=overdue,  # read from the index: if stale, the conditional write says so
                )
            except NotFound:  # removed meanwhile
                continue
            if changed:
                expired += 1
                self._count("InvitationsExpired")
                self._publish(
                    "InvitationExpired",
                    {
                        "invitation_id": stored.id,
                        "clinician_id": stored.clinician_id,
                        "expires_at": iso(stored.expires_at),
                        "expired_at": iso(now),
                    },
                )
        logger.info("expiry run complete", extra={"expired": expired})
        return ExpiryRun(expired, complete=True)

    # -- clinicians: patients ------------------------------------------------------------------

    def _own_patient(self, clinician: Clinician, patient_id: str) -> Callable[[], Patient]:
        def load() -> Patient:
            return domain.ensure_own_patient(self.repo.get_patient(patient_id), clinician.id)

        return load

    def get_patient(self, clinician: Clinician, patient_id: str) -> Patient:
        return self._own_patient(clinician, patient_id)()

    def correct_patient(self, clinician: Clinician, patient_id: str, changes: dict[str, str | None]) -> Patient:
        now = self.clock.now()
        stored, _ = self._transition(
            self._own_patient(clinician, patient_id),
            lambda current: domain.correct_patient(current, changes, now),
            self.repo.save_patient,
        )
        logger.info("patient corrected", extra={"patient_id": patient_id, "fields": sorted(changes)})
        return stored

    def leave_thread(self, clinician: Clinician, patient_id: str) -> Patient:
        now = self.clock.now()
        stored, changed = self._transition(
            self._own_patient(clinician, patient_id),
            lambda current: domain.leave_thread(current, now),
            self.repo.save_patient,
        )
        if changed:
            self._publish(
                "PatientThreadLeft",
                {
                    "patient_id": stored.id,
                    "clinician_id": stored.clinician_id,
                    "invitation_id": stored.invitation_id,
                    "left_at": iso(now),
                },
            )
            logger.info("patient thread left", extra={"patient_id": patient_id})
        return stored
