"""The tables of people on this node: persons, memberships, invitations, sign-in links, audit.

Everything here is local to the node: never federated, never part of an
envelope, a feed or an open-data export. A person is who signs in (by an
e-mail link or through the alliance's OpenID provider; no password is ever
stored); a membership says in which role they write for a publisher. Links
and invitations are stored as the SHA-256 of their secret only.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model


class Person(Model):
    """A member of staff who signs in. `operator` runs the node."""

    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=254, unique=True)  # lower case
    display_name = fields.CharField(max_length=120)
    language = fields.CharField(max_length=2, default="de")
    operator = fields.BooleanField(default=False)
    oidc_issuer = fields.CharField(max_length=300, null=True)
    oidc_subject = fields.CharField(max_length=255, null=True)
    created_at = fields.DatetimeField()
    last_signed_in_at = fields.DatetimeField(null=True)

    class Meta:
        table = "person"
        unique_together = (("oidc_issuer", "oidc_subject"),)


class Membership(Model):
    """A person's role for one publisher (a municipality or an organisation)."""

    id = fields.IntField(primary_key=True)
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="memberships", on_delete=fields.CASCADE
    )
    person_id: int
    municipality_id = fields.IntField(null=True)
    organisation_id = fields.IntField(null=True)
    role = fields.CharField(max_length=20)  # editor | curator | publisher-admin
    created_at = fields.DatetimeField()

    class Meta:
        table = "membership"
        indexes = (Index(fields=("municipality_id",)), Index(fields=("organisation_id",)))


class Invitation(Model):
    """An e-mail address invited to a publisher with a role, until it expires or is accepted."""

    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    email = fields.CharField(max_length=254)
    municipality_id = fields.IntField(null=True)
    organisation_id = fields.IntField(null=True)
    role = fields.CharField(max_length=20)
    invited_by_id = fields.IntField(null=True)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    accepted_at = fields.DatetimeField(null=True)
    accepted_by_id = fields.IntField(null=True)

    class Meta:
        table = "invitation"
        indexes = (Index(fields=("email",)),)


class SignInLink(Model):
    """A single-use sign-in link sent by e-mail. Rows of unknown addresses have no person
    (they count for the rate limit all the same); addresses are kept only as hashes."""

    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    email_hash = fields.CharField(max_length=64)
    client_hash = fields.CharField(max_length=64)
    person_id = fields.IntField(null=True)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "signin_link"
        indexes = (Index(fields=("email_hash", "created_at")), Index(fields=("client_hash", "created_at")))


class AuditEvent(Model):
    """Who did what to access on this node: sign-ins, invitations, roles, tokens."""

    id = fields.IntField(primary_key=True)
    at = fields.DatetimeField()
    person_id = fields.IntField(null=True)
    actor = fields.CharField(max_length=300)
    action = fields.CharField(max_length=40)
    target = fields.CharField(max_length=300, default="")
    detail = fields.CharField(max_length=500, default="")

    class Meta:
        table = "audit_event"
        indexes = (Index(fields=("at",)),)
