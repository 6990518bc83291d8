import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('models', '0002_search_index')]

    initial = False

    operations = [
        ops.CreateModel(
            name='KnownOrigin',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('url', fields.CharField(unique=True, max_length=300)),
                ('public_key', fields.CharField(max_length=64)),
                ('vouched_by', fields.CharField(max_length=300)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'known_origin', 'app': 'models', 'pk_attr': 'id', 'table_description': 'The public key of a node whose entries reach us through a relaying peer.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Peer',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('url', fields.CharField(unique=True, max_length=300)),
                ('name', fields.CharField(default='', max_length=200)),
                ('public_key', fields.CharField(max_length=64)),
                ('key_id', fields.CharField(max_length=16)),
                ('member', fields.BooleanField(default=False)),
                ('trust_relayed', fields.BooleanField(default=False)),
                ('cursor', fields.CharField(null=True, max_length=1000)),
                ('entries_behind', fields.IntField(null=True)),
                ('applied_total', fields.BigIntField(default=0)),
                ('last_attempt', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_success', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.TextField(default='', unique=False)),
                ('last_error_code', fields.CharField(default='', max_length=40)),
                ('failures', fields.IntField(default=0)),
                ('next_attempt', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'peer', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A node this node pulls from and answers, with its pinned key and sync state.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PendingEnvelope',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('peer_url', fields.CharField(max_length=300)),
                ('entry_uid', fields.CharField(max_length=200)),
                ('version', fields.IntField()),
                ('origin_node', fields.CharField(max_length=300)),
                ('envelope', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('signature', fields.CharField(max_length=200)),
                ('vouched_key', fields.CharField(default='', max_length=64)),
                ('reason', fields.CharField(max_length=500)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'pending_envelope', 'app': 'models', 'unique_together': (('peer_url', 'entry_uid', 'version'),), 'pk_attr': 'id', 'table_description': 'A received entry version held back (unknown origin key or publisher), with the reason.'},
            bases=['Model'],
        ),
    ]
