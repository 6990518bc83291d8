import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('models', '0003_federation')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ChecklistProgress',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('municipality', fields.ForeignKeyField('models.Municipality', source_field='municipality_id', db_constraint=True, to_field='id', related_name='checklist_progress', on_delete=OnDelete.CASCADE)),
                ('guide_uid', fields.UUIDField()),
                ('item_index', fields.IntField()),
                ('done', fields.BooleanField(default=False)),
                ('updated_by', fields.CharField(default='', max_length=200)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'checklist_progress', 'app': 'models', 'unique_together': (('municipality', 'guide_uid', 'item_index'),), 'pk_attr': 'id', 'table_description': 'How far a municipality got through the checklist of a guide. Local, never federated.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Collection',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('uid', fields.UUIDField(unique=True)),
                ('origin_node', fields.CharField(max_length=300)),
                ('version', fields.IntField(default=1)),
                ('organisation', fields.ForeignKeyField('models.Organisation', source_field='organisation_id', db_constraint=True, to_field='id', related_name='collections', on_delete=OnDelete.RESTRICT)),
                ('title', fields.CharField(max_length=300)),
                ('summary', fields.TextField(default='', unique=False)),
                ('language', fields.CharField(default='de', max_length=2)),
                ('visibility', fields.CharField(default='public', max_length=8)),
                ('deleted', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'collection', 'app': 'models', 'indexes': [Index(fields=['organisation_id'])], 'pk_attr': 'id', 'table_description': 'An ordered, annotated list of entries from any node, curated by an organisation.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CollectionItem',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('collection', fields.ForeignKeyField('models.Collection', source_field='collection_id', db_constraint=True, to_field='id', related_name='items', on_delete=OnDelete.CASCADE)),
                ('position', fields.IntField()),
                ('entry_uid', fields.UUIDField()),
                ('note', fields.TextField(default='', unique=False)),
            ],
            options={'table': 'collection_item', 'app': 'models', 'unique_together': (('collection', 'position'),), 'indexes': [Index(fields=['entry_uid'])], 'pk_attr': 'id', 'table_description': 'One entry of a collection at its position, with the curators note.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CurationRevision',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('record_uid', fields.UUIDField()),
                ('kind', fields.CharField(max_length=12)),
                ('version', fields.IntField()),
                ('envelope', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('signature', fields.CharField(default='', max_length=200)),
                ('author', fields.CharField(default='', max_length=200)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'curation_revision', 'app': 'models', 'unique_together': (('record_uid', 'version'),), 'pk_attr': 'id', 'table_description': 'One stored version of a collection or endorsement: the signed envelope of its origin.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Endorsement',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('uid', fields.UUIDField(unique=True)),
                ('origin_node', fields.CharField(max_length=300)),
                ('version', fields.IntField(default=1)),
                ('organisation', fields.ForeignKeyField('models.Organisation', source_field='organisation_id', db_constraint=True, to_field='id', related_name='endorsements', on_delete=OnDelete.RESTRICT)),
                ('entry_uid', fields.UUIDField()),
                ('note', fields.CharField(default='', max_length=500)),
                ('visibility', fields.CharField(default='public', max_length=8)),
                ('deleted', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'endorsement', 'app': 'models', 'unique_together': (('organisation', 'entry_uid'),), 'indexes': [Index(fields=['entry_uid'])], 'pk_attr': 'id', 'table_description': 'An organisation vouches for an entry of any node, with a short note.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='GuideAsset',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organisation', fields.ForeignKeyField('models.Organisation', source_field='organisation_id', db_constraint=True, to_field='id', related_name='guide_assets', on_delete=OnDelete.CASCADE)),
                ('path', fields.CharField(max_length=500)),
                ('content_type', fields.CharField(max_length=100)),
                ('sha256', fields.CharField(max_length=64)),
                ('size', fields.IntField()),
                ('data', fields.BinaryField()),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'guide_asset', 'app': 'models', 'unique_together': (('organisation', 'path'),), 'pk_attr': 'id', 'table_description': 'An image or file a guide bundle references, served at /guides/assets/ORG/PATH.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='GuideSource',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organisation', fields.ForeignKeyField('models.Organisation', source_field='organisation_id', db_constraint=True, to_field='id', related_name='guide_sources', on_delete=OnDelete.CASCADE)),
                ('guide_id', fields.CharField(max_length=120)),
                ('entry_uid', fields.UUIDField(unique=True)),
                ('path', fields.CharField(max_length=500)),
                ('imported_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'guide_source', 'app': 'models', 'unique_together': (('organisation', 'guide_id'),), 'pk_attr': 'id', 'table_description': 'Which bundle file an imported guide comes from, so a later import finds it again.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ReviewEvent',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('entry', fields.ForeignKeyField('models.Entry', source_field='entry_id', db_constraint=True, to_field='id', related_name='review_events', on_delete=OnDelete.CASCADE)),
                ('version', fields.IntField()),
                ('from_state', fields.CharField(null=True, max_length=10)),
                ('to_state', fields.CharField(max_length=10)),
                ('actor', fields.CharField(max_length=200)),
                ('note', fields.CharField(default='', max_length=500)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'review_event', 'app': 'models', 'indexes': [Index(fields=['entry_id', 'created_at'])], 'pk_attr': 'id', 'table_description': 'One move of a guide between review states, with who moved it and when.'},
            bases=['Model'],
        ),
    ]
