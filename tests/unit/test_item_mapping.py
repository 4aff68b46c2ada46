"""Items and back: every field of an entity survives the round trip through DynamoDB's attribute
values (as the adapter writes them with boto3's serializer and reads them with its own readers),
whatever its type: strings, literals, ints, booleans, optional values and converted ones."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from invitations.adapters.dynamo import items
from invitations.adapters.dynamo.mapping import Mapper
from invitations.domain import invitation as invitations
from invitations.domain import rules
from invitations.domain.invitation import Contact, DeliveryOutcome

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
RETENTION = timedelta(days=90)


def test_an_invitation_with_every_field_set_comes_back_equal():
    sent = invitations.create(
        Contact("Jeanne", "Rivière", "p@example.org", "+33612345678"), "c", "Dr A", NOW, rules.Rules()
    )
    every_field = replace(
        sent,
        send_count=3,
        recent_sends=(NOW, NOW + timedelta(hours=1)),
        accepted_at=NOW + timedelta(days=1),
        patient_id="p-1",
        time_zone="America/Martinique",
        email_suppressed=True,
        fallback_link=2,
        reminded_link=2,
        remind_at=NOW + timedelta(days=11),
        delivery=DeliveryOutcome("bounced", NOW, "Permanent: General", "sms", "msg-1"),
        stored_status="accepted",
        link_version=2,
        rev=7,
    )
    assert items.invitation_from(items.invitation_item(every_field, RETENTION)) == every_field


def test_fields_left_out_come_back_as_none_or_their_default():
    sent = invitations.create(Contact("Jeanne", "Rivière", None, "+33612345678"), "c", "Dr A", NOW, rules.Rules())
    back = items.invitation_from(items.invitation_item(sent, RETENTION))
    assert back == sent and back.email is None and back.email_suppressed is False and back.fallback_link is None


def test_each_plain_type_is_read_straight_from_its_dynamodb_type():
    """A string, a literal, an int and a bool each have their direct reader; the rest go through
    their converter."""
    mapper = Mapper(invitations.Invitation)
    readers = dict((name, read) for name, _, read in mapper._readers)
    assert readers["first_name"]({"S": "Jeanne"}) == "Jeanne"
    assert readers["stored_status"]({"S": "pending"}) == "pending"  # a Literal of strings
    assert readers["link_version"]({"N": "12"}) == 12
    assert readers["email_suppressed"]({"BOOL": True}) is True
    assert readers["fallback_link"]({"N": "2"}) == 2  # int | None
    assert readers["sent_at"]({"S": "2026-01-05T09:00:00.000Z"}) == NOW  # converted
