"""Input validation rules of the contract."""

import pytest
from pydantic import ValidationError

from invitations.models.requests import InvitationCreate, InvitationPatch


def create(**fields):
    return InvitationCreate(**{"first_name": "Ana", "last_name": "Lopes", **fields})


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("06 12 34 56 78", "+33612345678"),
        ("0612345678", "+33612345678"),
        ("06.12.34.56.78", "+33612345678"),
        ("+33 6 12 34 56 78", "+33612345678"),
        ("+33612345678", "+33612345678"),
        ("+44 7911 123456", "+447911123456"),  # E.164 from abroad
    ],
)
def test_phones_french_national_or_e164_stored_as_e164(given, stored):
    assert create(phone=given).phone == stored


@pytest.mark.parametrize("phone", ["01 42 68 53 00", "12", "+33 6 12", "06 12 34 56 78 90", "phone", "+" + "1" * 40])
def test_landlines_and_malformed_numbers_are_refused(phone):
    with pytest.raises(ValidationError):
        create(phone=phone)


def test_names_are_trimmed_and_bounded():
    assert create(first_name="  Ana  ", email="a@example.org").first_name == "Ana"
    assert len(create(first_name="A" * 100, email="a@example.org").first_name) == 100
    with pytest.raises(ValidationError):
        create(first_name="A" * 101, email="a@example.org")


def test_locale_defaults_to_french():
    assert create(email="a@example.org").locale == "fr"


def test_a_patch_knows_which_fields_were_given():
    assert InvitationPatch(email=None).changes() == {"email": None}
    assert InvitationPatch(first_name="Bo").changes() == {"first_name": "Bo"}
    with pytest.raises(ValidationError):
        InvitationPatch(last_name=None)
