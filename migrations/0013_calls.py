"""Calls for partners: a call's terms on its entry (`entry.call`), the answers to calls
(`call_answer`, addressed to the call's origin node only), answers refused (`call_refusal`)
and the subscriptions to new calls (`call_subscription`, local to the node).
"""

from orjson import loads
from tortoise import fields, migrations
from tortoise.fields.data import JSON_DUMPS
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('models', '0014_budget_currency_measurements')]  # 0014 came first

    initial = False

    operations = [
        ops.CreateModel(
            name='Answer',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('uid', fields.UUIDField(unique=True)),
                ('call_uid', fields.UUIDField()),
                ('origin_node', fields.CharField(max_length=300)),
                ('addressee', fields.CharField(max_length=300)),
                ('version', fields.IntField(default=1)),
                ('publisher_kind', fields.CharField(max_length=16)),
                ('publisher_key', fields.CharField(max_length=80)),
                ('publisher_name', fields.CharField(default='', max_length=200)),
                ('message', fields.TextField(default='', unique=False)),
                ('contact_role', fields.CharField(default='', max_length=200)),
                ('state', fields.CharField(default='active', max_length=10)),
                ('envelope', fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ('signature', fields.CharField(default='', max_length=200)),
                ('person_id', fields.IntField(null=True)),
                ('confirmed_version', fields.IntField(default=0)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('seen', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'call_answer', 'app': 'models', 'indexes': [Index(fields=['call_uid']), Index(fields=['addressee', 'confirmed_version'])], 'pk_attr': 'id', 'table_description': "An answer to a call: stored by the node that wrote it and by the call's origin node only."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Refusal',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('peer_url', fields.CharField(max_length=300)),
                ('answer_uid', fields.CharField(default='', max_length=200)),
                ('reason', fields.CharField(max_length=500)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'call_refusal', 'app': 'models', 'pk_attr': 'id', 'table_description': 'An answer this node refused, and why (shown to the operator).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Subscription',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('person_id', fields.IntField()),
                ('email', fields.CharField(default='', max_length=200)),
                ('topics', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('centre_key', fields.CharField(default='', max_length=12)),
                ('radius_km', fields.IntField(null=True)),
                ('frequency', fields.CharField(default='weekly', max_length=8)),
                ('language', fields.CharField(default='de', max_length=2)),
                ('feed_token_hash', fields.CharField(unique=True, max_length=64)),
                ('last_sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'call_subscription', 'app': 'models', 'indexes': [Index(fields=['person_id'])], 'pk_attr': 'id', 'table_description': "A person's saved search for new calls (topics and a region). Local, never federated."},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Entry',
            name='call',
            field=fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads),
        ),
    ]
