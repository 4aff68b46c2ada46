"""Search normalisation, link tokens and cursors, and the messages patients receive."""

from datetime import UTC, datetime

import pytest

from invitations import messages
from invitations.text import matches, name_words, words
from invitations.tokens import TokenSigner


@pytest.mark.parametrize(
    ("query", "first", "last", "found"),
    [
        ("hel", "Hélène", "Martin", True),
        ("dupont", "Jean", "DUPONT-Durand", True),
        ("durand", "Jean", "DUPONT-Durand", True),
        ("ont", "Jean", "Dupont", False),  # the start of a word, not any substring
        ("jean dup", "Jean", "Dupont", True),
        ("jean mar", "Jean", "Dupont", False),
        ("ÉLO", "Éloïse", "Bézier", True),
    ],
)
def test_prefix_of_any_word_ignoring_case_and_accents(query, first, last, found):
    assert matches(words(query), name_words(first, last)) is found


def test_tokens_embed_the_id_and_a_mac_that_only_the_current_version_verifies():
    signer = TokenSigner(b"k" * 32)
    token = signer.link_token("0123456789abcdef0123456789abcdef", 3)
    assert signer.invitation_id_of(token) == "0123456789abcdef0123456789abcdef"
    assert signer.verify(token, "0123456789abcdef0123456789abcdef", 3)
    assert not signer.verify(token, "0123456789abcdef0123456789abcdef", 4)
    assert not TokenSigner(b"other").verify(token, "0123456789abcdef0123456789abcdef", 3)
    assert len(token) == 44  # key id + 16 bytes of id + 128 bits of MAC, base64url


@pytest.mark.parametrize("junk", ["", "x", "not-a-token!", "A" * 44, "A" * 48, "A" * 500])
def test_junk_tokens_are_rejected_without_error(junk):
    signer = TokenSigner(b"k" * 32)
    inv_id = signer.invitation_id_of(junk)
    assert inv_id is None or not signer.verify(junk, inv_id, 1)


def test_cursors_are_bound_to_their_scope():
    signer = TokenSigner(b"k" * 32)
    cursor = signer.sign_cursor("alice|q", {"before": "2026-01-01T00:00:00.000Z#abc"})
    assert signer.open_cursor("alice|q", cursor) == {"before": "2026-01-01T00:00:00.000Z#abc"}
    assert signer.open_cursor("bob|q", cursor) is None
    assert signer.open_cursor("alice|q", cursor[:-2] + "AA") is None
    assert signer.open_cursor("alice|q", "%%%") is None


def test_the_secret_is_fetched_only_when_first_needed():
    fetched = []

    def secret() -> bytes:
        fetched.append(1)
        return b"k" * 32

    signer = TokenSigner(secret)
    assert fetched == []
    signer.link_token("0123456789abcdef0123456789abcdef", 1)
    signer.link_token("0123456789abcdef0123456789abcdef", 2)
    assert fetched == [1]


EXPIRY = datetime(2026, 1, 19, 9, 0, tzinfo=UTC)
LINK = "https://invite.example.org/i/" + "A" * 44


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_an_sms_is_one_gsm7_segment_even_with_a_40_character_name(locale):
    name = "Dr Marie-Françoise Château-Lévêque Ñuñez"[:40]
    assert len(name) == 40
    text = messages.invitation_sms(name, LINK, EXPIRY, locale)
    assert messages.is_single_gsm7_segment(text), (len(text), text)
    assert LINK in text


def test_a_long_name_is_shortened_but_the_link_never_is():
    text = messages.invitation_sms("Dr " + "Très-Long-Nom " * 20, LINK, EXPIRY, "fr")
    assert messages.is_single_gsm7_segment(text) and text.endswith(LINK)


def test_email_names_the_clinician_gives_link_and_date_and_escapes_everything():
    mail = messages.invitation_email("<script>x</script>", 'Dr "O\'Brien" <b>', LINK, EXPIRY, "fr")
    assert "<script>" not in mail.html and "&lt;script&gt;" in mail.html
    assert "<b>" not in mail.html
    assert LINK in mail.text and LINK in mail.html and "19/01/2026" in mail.text
    assert mail.subject.startswith('Dr "O\'Brien"')
    english = messages.invitation_email("Ann", "Dr Who", LINK, EXPIRY, "en")
    assert "valid until 2026-01-19" in english.text and english.html.startswith('<!doctype html><html lang="en">')
