"""The rules, in microseconds: statuses, the 14 days, who may do what, the send limit. The
numbers the product promises are checked as numbers here: a mutation tool cannot change a
module constant, so these tests fail when one changes."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from invitations.domain import invitation as invitations
from invitations.domain import patient as patients
from invitations.domain import rules
from invitations.domain.errors import (
    Invalid,
    InvalidCursor,
    InvitationAccepted,
    LinkExpired,
    LinkGone,
    NotFound,
    TooManySends,
)
from invitations.domain.ids import is_id, new_id
from invitations.domain.invitation import Contact, DeliveryOutcome
from invitations.domain.rules import Rules
from invitations.settings import Settings
from local.template import load_template
from tests.fakes import FrozenClock, as_read

RULES = Rules()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


def invite(clock: FrozenClock, email: str | None = "p@example.org", phone: str | None = None) -> invitations.Invitation:
    return invitations.create(Contact("Jeanne", "Rivière", email, phone), "clin-1", "Dr A", clock.now(), RULES)


def accepted(inv: invitations.Invitation, clock: FrozenClock) -> tuple[invitations.Invitation, patients.Patient]:
    patient = patients.from_invitation(inv, clock.now())
    return invitations.accept(inv, patient.id, clock.now()), patient


def test_the_product_promises_14_days_and_5_sends_a_day():
    assert rules.VALIDITY_DAYS == 14
    assert Rules().validity == timedelta(days=14)
    assert timedelta(hours=24) == rules.SEND_WINDOW
    assert rules.MAX_SENDS_PER_WINDOW == Rules().max_sends_per_window == 5


def test_deployments_default_to_the_domains_numbers():
    defaults = {"TABLE_NAME": "t", "EVENT_BUS_NAME": "b", "PUBLIC_BASE_URL": "https://x", "LINK_SECRET_ID": "s"}
    assert Settings.model_validate(defaults).rules() == Rules()
    assert load_template()["Parameters"]["ValidityDays"]["Default"] == rules.VALIDITY_DAYS
    configured = Settings.model_validate(
        {
            **defaults,
            "VALIDITY_DAYS": "3",
            "MAX_SENDS_PER_INVITATION": "2",
            "MAX_SENDS_PER_DAY": "7",
            "SMS_COUNTRIES": "fr, be",
        }
    ).rules()
    assert configured == Rules(
        validity=timedelta(days=3), max_sends_per_window=2, max_sends_per_day=7, sms_countries=("FR", "BE")
    )
    assert load_template()["Parameters"]["MaxSendsPerDay"]["Default"] == rules.MAX_SENDS_PER_DAY == 200
    assert load_template()["Parameters"]["SmsCountries"]["Default"] == ",".join(rules.SMS_COUNTRIES)


def test_pending_until_the_last_instant_then_expired(clock):
    inv = invite(clock)
    assert inv.expires_at == clock.now() + timedelta(days=14)
    assert inv.status_at(clock.now() + timedelta(days=14) - timedelta(milliseconds=1)) == "pending"
    assert inv.status_at(clock.now() + timedelta(days=14)) == "expired"
    assert not inv.is_overdue(clock.now() + timedelta(days=14) - timedelta(milliseconds=1))
    assert inv.is_overdue(clock.now() + timedelta(days=14))


def test_a_deleted_invitation_has_no_status(clock):
    with pytest.raises(NotFound):
        invitations.delete(invite(clock), clock.now()).status_at(clock.now())


def test_a_new_invitation_is_queued_once_sent_now(clock):
    inv = invite(clock)
    assert (inv.stored_status, inv.link_version, inv.send_count) == ("pending", 1, 1)
    assert inv.sent_at == inv.created_at == clock.now() and inv.recent_sends == (clock.now(),)
    assert inv.delivery == DeliveryOutcome("queued", clock.now())
    assert (inv.clinician_id, inv.clinician_name, inv.locale) == ("clin-1", "Dr A", "fr")


def test_channel_is_email_whenever_an_address_is_known(clock):
    assert invite(clock, email="p@example.org", phone="+33612345678").channel == "email"
    assert invite(clock, email=None, phone="+33612345678").channel == "sms"


def test_an_invitation_needs_a_contact(clock):
    with pytest.raises(Invalid) as refused:
        invite(clock, email=None, phone=None)
    assert set(refused.value.fields or {}) == {"email", "phone"}


def test_ids_are_128_random_bits():
    ids = {new_id() for _ in range(100)}
    assert len(ids) == 100 and all(is_id(i) for i in ids)
    assert (
        not is_id("A" * 32) and not is_id("a" * 31) and not is_id("a" * 33) and not is_id("g" * 32) and is_id("a" * 32)
    )


def test_another_clinicians_invitation_is_not_found(clock):
    inv = invite(clock)
    assert rules.visible_to(inv, "clin-1") is inv
    with pytest.raises(NotFound):
        rules.visible_to(inv, "clin-2")
    with pytest.raises(NotFound):
        rules.visible_to(None, "clin-1")
    with pytest.raises(NotFound):
        rules.visible_to(invitations.delete(inv, clock.now()), "clin-1")


def test_another_clinicians_patient_is_not_found(clock):
    _, patient = accepted(invite(clock), clock)
    assert rules.own_patient(patient, "clin-1") is patient
    with pytest.raises(NotFound):
        rules.own_patient(patient, "clin-2")
    with pytest.raises(NotFound):
        rules.own_patient(None, "clin-1")


def test_correcting_a_contact_replaces_the_link_but_a_name_does_not(clock):
    inv = invite(clock)
    renamed = invitations.correct(inv, {"first_name": "Jeane"}, clock.now())
    assert renamed.link_version == inv.link_version and renamed.first_name == "Jeane"
    assert renamed.delivery == inv.delivery
    clock.advance(minutes=5)
    moved = invitations.correct(inv, {"email": "new@example.org"}, clock.now())
    assert moved.link_version == inv.link_version + 1
    assert moved.delivery == DeliveryOutcome("not_sent", clock.now())
    by_phone = invitations.correct(inv, {"phone": "+33612345678"}, clock.now())
    assert by_phone.link_version == inv.link_version + 1


def test_a_correction_cannot_remove_the_last_contact(clock):
    with pytest.raises(Invalid):
        invitations.correct(invite(clock), {"email": None}, clock.now())


def test_an_accepted_invitation_cannot_be_corrected_resent_or_deleted(clock):
    done, _ = accepted(invite(clock), clock)
    with pytest.raises(InvitationAccepted):
        invitations.correct(done, {"first_name": "X"}, clock.now())
    with pytest.raises(InvitationAccepted):
        invitations.resend(done, clock.now(), RULES)
    with pytest.raises(InvitationAccepted) as refused:
        invitations.delete(done, clock.now())
    assert "leave the patient thread" in refused.value.message


def test_an_expired_invitation_may_be_corrected_resent_and_deleted(clock):
    inv = invitations.expire(invite(clock), clock.advance(days=15))
    assert inv is not None
    assert invitations.correct(inv, {"first_name": "X"}, clock.now()).first_name == "X"
    assert invitations.resend(inv, clock.now(), RULES).stored_status == "pending"
    assert invitations.delete(inv, clock.now()).stored_status == "deleted"


def test_resend_gives_a_new_link_and_the_full_window_again(clock):
    inv = invite(clock)
    clock.advance(days=20)
    assert inv.status_at(clock.now()) == "expired"
    again = invitations.resend(inv, clock.now(), RULES)
    assert again.status_at(clock.now()) == "pending"
    assert again.sent_at == clock.now() and again.expires_at == clock.now() + timedelta(days=14)
    assert (again.link_version, again.send_count) == (inv.link_version + 1, 2)
    assert again.delivery == DeliveryOutcome("queued", clock.now())
    assert again.recent_sends == (clock.now(),)  # the first send left the window


def test_the_sixth_send_in_24_hours_is_refused_with_the_wait(clock):
    inv = invite(clock)  # the first send counts
    for _ in range(4):
        clock.advance(hours=1)
        inv = invitations.resend(inv, clock.now(), RULES)
    clock.advance(hours=1)
    with pytest.raises(TooManySends) as refused:
        invitations.resend(inv, clock.now(), RULES)
    # The first send leaves the window 24 h after it was made: 19 hours from now (and a second).
    assert refused.value.retry_after_seconds == 19 * 3600 + 1
    clock.advance(hours=19, milliseconds=-1)
    with pytest.raises(TooManySends) as still:
        invitations.resend(inv, clock.now(), RULES)
    assert still.value.retry_after_seconds == 1  # never 0: a client must wait
    clock.advance(milliseconds=1)
    assert invitations.resend(inv, clock.now(), RULES).send_count == 6


def test_the_send_limit_follows_the_rules_given(clock):
    tight = Rules(max_sends_per_window=1)
    with pytest.raises(TooManySends):
        invitations.resend(invite(clock), clock.now(), tight)


def test_a_delivery_outcome_is_recorded_for_the_current_link_only(clock):
    inv = invite(clock)
    outcome = DeliveryOutcome("sent", clock.now())
    assert invitations.record_delivery(inv, inv.link_version, outcome).delivery == outcome
    newer = invitations.resend(inv, clock.advance(minutes=1), RULES)
    assert invitations.record_delivery(newer, inv.link_version, outcome) is None
    assert invitations.record_delivery(invitations.delete(inv, clock.now()), inv.link_version, outcome) is None


def test_accept_names_the_patient_created_from_the_invitation(clock):
    inv = invite(clock, phone="+33612345678")
    done, patient = accepted(inv, clock)
    assert done.stored_status == "accepted" and done.patient_id == patient.id and done.accepted_at == clock.now()
    assert (patient.first_name, patient.last_name) == ("Jeanne", "Rivière")
    assert (patient.email, patient.phone) == ("p@example.org", "+33612345678")
    assert (patient.clinician_id, patient.invitation_id, patient.thread) == ("clin-1", inv.id, "active")
    assert patient.created_at == patient.updated_at == clock.now()


def test_an_expired_or_deleted_link_cannot_be_accepted(clock):
    inv = invite(clock)
    with pytest.raises(LinkGone):
        invitations.accept(invitations.delete(inv, clock.now()), "p", clock.now())
    with pytest.raises(LinkExpired) as expired:
        invitations.accept(inv, "p", clock.now() + timedelta(days=14))
    assert (expired.value.clinician_name, expired.value.locale) == ("Dr A", "fr")


def test_expire_only_touches_overdue_pending_ones(clock):
    inv = invite(clock)
    assert invitations.expire(inv, clock.now()) is None  # not due yet
    later = clock.now() + timedelta(days=14)
    assert invitations.expire(inv, later).stored_status == "expired"
    done, _ = accepted(inv, clock)
    assert invitations.expire(done, later) is None
    assert invitations.expire(replace(inv, stored_status="expired"), later) is None


def test_a_patient_record_is_corrected_with_its_update_time(clock):
    _, patient = accepted(invite(clock), clock)
    clock.advance(hours=2)
    corrected = patients.correct(patient, {"phone": "+33612345678", "email": None}, clock.now())
    assert corrected.updated_at == clock.now() and corrected.phone == "+33612345678"
    with pytest.raises(Invalid):
        patients.correct(patient, {"email": None}, clock.now())


def test_leaving_twice_changes_nothing(clock):
    _, patient = accepted(invite(clock), clock)
    clock.advance(hours=1)
    left = patients.leave_thread(patient, clock.now())
    assert left is not None and left.thread == "left"
    assert left.left_at == left.updated_at == clock.now()
    assert patients.leave_thread(left, clock.now()) is None


# -- boundaries and every status, as read from the table --------------------------------------


def in_status(inv: invitations.Invitation, status: str) -> invitations.Invitation:
    return replace(inv, stored_status=as_read(status), clinician_id=as_read(inv.clinician_id))


STATUSES = ("pending", "accepted", "expired", "deleted")


def test_who_may_see_an_invitation_in_each_status(clock):
    inv = invite(clock)
    for status in STATUSES:
        stored = in_status(inv, status)
        if status == "deleted":
            with pytest.raises(NotFound):
                rules.visible_to(stored, "clin-1")
        else:
            assert rules.visible_to(stored, as_read("clin-1")) is stored
        for other in ("clin-0", "clin-2", "clin-10", "clin"):  # before and after the owner's id
            with pytest.raises(NotFound):
                rules.visible_to(stored, other)


def test_only_an_accepted_invitation_refuses_correct_resend_and_delete(clock):
    inv = invite(clock)
    for status in STATUSES:
        stored = in_status(inv, status)
        for rule in (rules.may_correct, rules.may_resend, rules.may_delete):
            if status == "accepted":
                with pytest.raises(InvitationAccepted):
                    rule(stored)
            else:
                assert rule(stored) is None


def test_what_a_link_may_do_in_each_status(clock):
    inv = invite(clock)
    before, at_expiry = clock.now() + timedelta(days=14, microseconds=-1), clock.now() + timedelta(days=14)
    for now in (before, at_expiry):
        with pytest.raises(LinkGone):
            rules.link_usable(in_status(inv, "deleted"), now)
        with pytest.raises(LinkExpired):
            rules.link_usable(in_status(inv, "expired"), now)
        accepted_one = in_status(inv, "accepted")
        assert rules.link_usable(accepted_one, now) is accepted_one  # its page still shows
    pending = in_status(inv, "pending")
    assert rules.link_usable(pending, before) is pending
    with pytest.raises(LinkExpired):
        rules.link_usable(pending, at_expiry)


def test_the_status_as_true_now_in_each_stored_status(clock):
    inv = invite(clock)
    later = clock.now() + timedelta(days=30)  # past expiry: only a pending one changes
    assert in_status(inv, "pending").status_at(clock.now()) == "pending"
    assert in_status(inv, "pending").status_at(later) == "expired"
    assert in_status(inv, "accepted").status_at(later) == "accepted"
    assert in_status(inv, "expired").status_at(clock.now()) == "expired"
    assert not in_status(inv, "accepted").is_overdue(later) and not in_status(inv, "expired").is_overdue(later)
    with pytest.raises(NotFound):
        in_status(inv, "deleted").status_at(clock.now())


def test_expiry_is_exactly_the_validity_after_sending(clock):
    assert Rules().expiry_of(clock.now()) == clock.now() + timedelta(days=14)
    assert Rules(validity=timedelta(hours=2)).expiry_of(clock.now()) == clock.now() + timedelta(hours=2)
    moment = clock.now()
    assert not rules.is_past_expiry(moment, moment - timedelta(microseconds=1))
    assert rules.is_past_expiry(moment, moment) and rules.is_past_expiry(moment, moment + timedelta(days=1))


def test_a_lowered_send_limit_refuses_even_above_it(clock):
    """A deployment lowers the limit: an invitation already sent more often is refused too."""
    sends = tuple(clock.now() + timedelta(minutes=m) for m in range(3))
    with pytest.raises(TooManySends) as refused:
        Rules(max_sends_per_window=2).check_send_allowed(sends, clock.now() + timedelta(hours=1))
    assert refused.value.retry_after_seconds == 23 * 3600 + 1
    assert Rules(max_sends_per_window=4).check_send_allowed(sends, clock.now() + timedelta(hours=1)) == sends


def test_the_send_window_keeps_only_the_last_24_hours(clock):
    now = clock.now()
    sends = (now - timedelta(hours=24), now - timedelta(hours=24) + timedelta(microseconds=1), now)
    assert RULES.check_send_allowed(sends, now) == sends[1:]
    assert RULES.check_send_allowed((), now) == ()


def test_a_contact_is_an_address_or_a_number(clock):
    assert rules.needs_a_contact("p@example.org", None) is None
    assert rules.needs_a_contact(None, "+33612345678") is None
    assert rules.needs_a_contact("p@example.org", "+33612345678") is None
    for email, phone in ((None, None), ("", ""), ("", None), (None, "")):
        with pytest.raises(Invalid) as refused:
            rules.needs_a_contact(email, phone)
        assert refused.value.fields == {
            "email": "give an email address or a phone number",
            "phone": "give an email address or a phone number",
        }


def test_a_patient_is_seen_by_its_clinician_only(clock):
    _, patient = accepted(invite(clock), clock)
    stored = replace(patient, clinician_id=as_read("clin-1"))
    assert rules.own_patient(stored, "clin-1") is stored
    for other in ("clin-0", "clin-2", "clin-10", "clin"):
        with pytest.raises(NotFound):
            rules.own_patient(stored, other)


def test_an_outcome_is_recorded_for_that_link_only_in_any_status_but_deleted(clock):
    inv = replace(invite(clock), link_version=2)
    outcome = DeliveryOutcome("sent", clock.now())
    for status in ("pending", "accepted", "expired"):
        assert invitations.record_delivery(in_status(inv, status), 2, outcome).delivery == outcome
    assert invitations.record_delivery(in_status(inv, "deleted"), 2, outcome) is None
    assert invitations.record_delivery(inv, 1, outcome) is None  # an older link's
    assert invitations.record_delivery(inv, 3, outcome) is None  # never a link not made yet


def test_an_item_lacking_the_later_fields_reads_as_never_stored_sent_once(clock):
    """The adapter gives an item's missing attributes the fields' defaults."""
    inv = invite(clock)
    minimal = invitations.Invitation(
        inv.id, "clin-1", "Dr A", "Jeanne", "Rivière", "p@example.org", None, "fr", "pending", 1,
        inv.created_at, inv.sent_at, inv.expires_at, inv.delivery,
    )  # fmt: skip
    assert (minimal.send_count, minimal.recent_sends, minimal.rev) == (1, (), 0)
    assert (minimal.accepted_at, minimal.patient_id, minimal.deleted_at) == (None, None, None)
    assert inv.rev == 0  # a new invitation was never stored
    _, patient = accepted(inv, clock)
    assert (patient.thread, patient.left_at, patient.rev) == ("active", None, 0)
    assert DeliveryOutcome("sent", clock.now()).detail is None
    assert Contact("A", "B", "a@example.org", None).locale == "fr"


def test_correcting_keeps_the_link_while_the_contact_is_the_same(clock):
    inv = invite(clock, email="p@example.org", phone="+33600000000")
    same = invitations.correct(inv, {"email": "p@example.org", "last_name": "R"}, clock.now())
    assert same.link_version == 1 and same.delivery == inv.delivery
    for changes in ({"email": "a@example.org"}, {"email": "z@example.org"}, {"phone": "+33700000000"}):
        moved = invitations.correct(inv, changes, clock.now())
        assert moved.link_version == 2 and moved.delivery.status == "not_sent", changes
    assert invitations.correct(inv, {"email": None}, clock.now()).link_version == 2


def test_a_patient_correction_and_a_leave_stamp_the_record(clock):
    _, patient = accepted(invite(clock), clock)
    clock.advance(minutes=7)
    corrected = patients.correct(patient, {"last_name": "Durand"}, clock.now())
    assert corrected.updated_at == clock.now() != patient.updated_at and corrected.created_at == patient.created_at
    assert corrected.last_name == "Durand" and (corrected.thread, corrected.left_at) == ("active", None)
    stored = replace(patient, thread=as_read("left"))
    assert patients.leave_thread(stored, clock.now()) is None


def test_an_error_says_the_contracts_code_and_a_sentence():
    default = NotFound()
    assert (default.code, default.message, str(default), default.fields) == (
        "not_found",
        "No such resource.",
        "No such resource.",
        None,
    )
    told = Invalid("Not like this.", fields={"email": "not an address"})
    assert (told.message, str(told), told.fields) == ("Not like this.", "Not like this.", {"email": "not an address"})
    assert InvalidCursor().fields == {"cursor": "not a cursor of this listing (use next_cursor as given)"}
    assert (InvalidCursor().code, TooManySends(7).retry_after_seconds, TooManySends(7).code) == (
        "validation_error",
        7,
        "too_many_sends",
    )
    expired = LinkExpired("Dr A", "en")
    assert (expired.clinician_name, expired.locale, expired.code) == ("Dr A", "en", "link_expired")


def test_the_wait_is_the_whole_seconds_left_plus_one(clock):
    """Three seconds and a half before the oldest send leaves the window: wait 4 s."""
    now = clock.now()
    sends = (now - timedelta(hours=24) + timedelta(seconds=3, milliseconds=500),)
    with pytest.raises(TooManySends) as refused:
        Rules(max_sends_per_window=1).check_send_allowed(sends, now)
    assert refused.value.retry_after_seconds == 4


def test_the_reminder_hours_are_nine_to_eight_in_the_patients_zone():
    """Paris is UTC+1 in January: 09:00 there is 08:00 UTC."""
    day = datetime(2026, 1, 5, tzinfo=UTC)
    inside = [RULES.reminder_hours(day + timedelta(hours=h, minutes=m), "Europe/Paris") for h, m in ((7, 59), (8, 0))]
    assert inside == [False, True]
    late = [RULES.reminder_hours(day + timedelta(hours=h, minutes=m), "Europe/Paris") for h, m in ((18, 59), (19, 0))]
    assert late == [True, False]
    assert not RULES.reminder_hours(day + timedelta(hours=21), "Europe/Paris")


def test_a_reminder_is_moved_into_the_patients_day():
    day = datetime(2026, 1, 20, tzinfo=UTC)  # expiries; Paris is UTC+1
    three_days = timedelta(days=3)
    for expires_utc, due_utc in (
        (day + timedelta(hours=8, minutes=30), day - three_days + timedelta(hours=8, minutes=30)),  # 09:30 stays
        (day + timedelta(hours=7, minutes=30), day - three_days + timedelta(hours=8)),  # 08:30 -> 09:00
        (day + timedelta(hours=18, minutes=30), day - three_days + timedelta(hours=18, minutes=30)),  # 19:30
        (day + timedelta(hours=19, minutes=30), day - three_days + timedelta(hours=18)),  # 20:30 -> 19:00
    ):
        assert RULES.reminder_at(expires_utc, "Europe/Paris") == due_utc, expires_utc


def test_reminders_off_below_one_day():
    expires = datetime(2026, 1, 20, 12, tzinfo=UTC)
    assert Rules(reminder_days_before=0).reminder_at(expires, "Europe/Paris") is None
    assert Rules(reminder_days_before=-1).reminder_at(expires, "Europe/Paris") is None
    assert Rules(reminder_days_before=1).reminder_at(expires, "Europe/Paris") == expires - timedelta(days=1)


def test_an_errors_message_may_be_named_and_its_fields_must_be():
    assert NotFound(message="No such invitation.").message == "No such invitation."
    with pytest.raises(TypeError):
        Invalid("Not like this.", {"email": "not an address"})  # type: ignore[misc]
