"""People on this node: persons, memberships, invitations, sign-in links and the audit log.

Revisions, review decisions and curation revisions record the person who made
them (locally; the envelope is unchanged); tokens and web sessions may belong
to a person. Tokens made before this migration have no person: they stay
service tokens of their publisher and keep working until revoked.
"""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('models', '0009_vouched_keys')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AuditEvent',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('person_id', fields.IntField(null=True)),
                ('actor', fields.CharField(max_length=300)),
                ('action', fields.CharField(max_length=40)),
                ('target', fields.CharField(default='', max_length=300)),
                ('detail', fields.CharField(default='', max_length=500)),
            ],
            options={'table': 'audit_event', 'app': 'models', 'indexes': [Index(fields=['at'])], 'pk_attr': 'id', 'table_description': 'Who did what to access on this node: sign-ins, invitations, roles, tokens.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Invitation',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('email', fields.CharField(max_length=254)),
                ('municipality_id', fields.IntField(null=True)),
                ('organisation_id', fields.IntField(null=True)),
                ('role', fields.CharField(max_length=20)),
                ('invited_by_id', fields.IntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('accepted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('accepted_by_id', fields.IntField(null=True)),
            ],
            options={'table': 'invitation', 'app': 'models', 'indexes': [Index(fields=['email'])], 'pk_attr': 'id', 'table_description': 'An e-mail address invited to a publisher with a role, until it expires or is accepted.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Person',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('email', fields.CharField(unique=True, max_length=254)),
                ('display_name', fields.CharField(max_length=120)),
                ('language', fields.CharField(default='de', max_length=2)),
                ('operator', fields.BooleanField(default=False)),
                ('oidc_issuer', fields.CharField(null=True, max_length=300)),
                ('oidc_subject', fields.CharField(null=True, max_length=255)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_signed_in_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'person', 'app': 'models', 'unique_together': (('oidc_issuer', 'oidc_subject'),), 'pk_attr': 'id', 'table_description': 'A member of staff who signs in. `operator` runs the node.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Membership',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('person', fields.ForeignKeyField('models.Person', source_field='person_id', db_constraint=True, to_field='id', related_name='memberships', on_delete=OnDelete.CASCADE)),
                ('municipality_id', fields.IntField(null=True)),
                ('organisation_id', fields.IntField(null=True)),
                ('role', fields.CharField(max_length=20)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'membership', 'app': 'models', 'indexes': [Index(fields=['municipality_id']), Index(fields=['organisation_id'])], 'pk_attr': 'id', 'table_description': "A person's role for one publisher (a municipality or an organisation)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SignInLink',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('email_hash', fields.CharField(max_length=64)),
                ('client_hash', fields.CharField(max_length=64)),
                ('person_id', fields.IntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'signin_link', 'app': 'models', 'indexes': [Index(fields=['email_hash', 'created_at']), Index(fields=['client_hash', 'created_at'])], 'pk_attr': 'id', 'table_description': 'A single-use sign-in link sent by e-mail. Rows of unknown addresses have no person'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='ApiToken',
            name='person_id',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='CurationRevision',
            name='person_id',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='ReviewEvent',
            name='person_id',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Revision',
            name='person_id',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='WebSession',
            name='acting',
            field=fields.CharField(default='', max_length=24),
        ),
        ops.AddField(
            model_name='WebSession',
            name='client',
            field=fields.CharField(default='', max_length=200),
        ),
        ops.AddField(
            model_name='WebSession',
            name='person_id',
            field=fields.IntField(null=True),
        ),
    ]
