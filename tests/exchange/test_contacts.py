"""An entry's contact names an office or a role: what is read as a person, and what is not."""

from __future__ import annotations

import pytest

from exchange.contacts import given_names, person_in_role, personal_address


@pytest.mark.parametrize(("text", "person"), [
    ("Erika Mustermann", "Erika Mustermann"),
    ("Bauamt, Erika Mustermann", "Erika Mustermann"),
    ("Mustermann, Erika", "Mustermann, Erika"),
    ("Anna-Lena Schmidt", "Anna-Lena Schmidt"),
    ("Thomas Müller-Lüdenscheidt", "Thomas Müller-Lüdenscheidt"),
    ("John Smith", "John Smith"),
    ("Frau Dr. Erika Mustermann", "Frau"),
    ("Prof. Meier", "Prof."),
    # roles and offices, also where a word is a given name too
    ("Stabsstelle Digitalisierung", None),
    ("Hauptamt, Digitalisierung", None),
    ("Bürgermeisteramt, Öffentlichkeitsarbeit", None),
    ("Citizen office (Bürgerbüro)", None),
    ("Fachbereich Schulen und Kultur", None),
    ("Smart City Team", None),
    ("Open Data Koordination", None),
    ("Leitung IT", None),
    ("Frank Digital", None),
    ("Klaus Bauamt", None),
    ("Climate protection management", None),
    ("Ordnungsamt / Kurverwaltung", None),
    ("", None),
])
def test_a_person_in_a_contact_is_found_and_a_role_is_not(text: str, person: str | None) -> None:
    assert person_in_role(text) == person


@pytest.mark.parametrize(("email", "personal"), [
    ("erika.mustermann@stadt.example", True),
    ("e.mustermann@stadt.example", True),
    ("john_smith@city.example", True),
    ("bauamt@stadt.example", False),
    ("digitalisierung@stadt.example", False),
    ("smart-city@stadt.example", False),
    ("it-service@stadt.example", False),
    ("anna.bauamt@stadt.example", False),
    ("info@stadt.example", False),
])
def test_a_personal_address_is_told_from_a_role_address(email: str, personal: bool) -> None:
    assert personal_address(email) is personal


def test_the_shipped_names_are_many_and_lower_case() -> None:
    names = given_names()
    assert len(names) > 300 and all(n == n.lower() and " " not in n for n in names)
    assert {"erika", "thomas", "john"} <= names and "bauamt" not in names
