"""Server-side sessions of the web pages, and when a token was revoked and last used.

`web_session` holds one row per signed-in browser (only the SHA-256 of its
session id), so signing out ends the session on the server. Tokens made
before this migration keep their (missing) expiry.
"""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('models', '0007_public_newest_index')]

    initial = False

    operations = [
        ops.CreateModel(
            name='WebSession',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('sid_hash', fields.CharField(unique=True, max_length=64)),
                ('token', fields.ForeignKeyField('models.ApiToken', source_field='token_id', null=True, db_constraint=True, to_field='id', related_name='sessions', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_seen_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ended_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('end_reason', fields.CharField(default='', max_length=20)),
            ],
            options={'table': 'web_session', 'app': 'models', 'indexes': [Index(fields=['token_id']), Index(fields=['expires_at'])], 'pk_attr': 'id', 'table_description': 'A signed-in session of the web pages. Local to this node, never federated or exported.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='ApiToken',
            name='last_used_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='ApiToken',
            name='revoked_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
