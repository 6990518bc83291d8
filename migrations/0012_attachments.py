"""Attachments: the files an entry carries (`attachment`), and the blobs stored once by
SHA-256 digest (`attachment_blob`, with the text found in PDFs and office documents).

The bytes live in the node's attachment store (a folder beside the database),
not in the database.
"""

from orjson import loads
from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('models', '0011_purge_withdrawn')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Attachment',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('entry', fields.ForeignKeyField('models.Entry', source_field='entry_id', db_constraint=True, to_field='id', related_name='attachments', on_delete=OnDelete.CASCADE)),
                ('digest', fields.CharField(max_length=64)),
                ('size', fields.BigIntField()),
                ('media_type', fields.CharField(max_length=100)),
                ('filename', fields.CharField(max_length=200)),
                ('title', fields.CharField(max_length=300)),
                ('description', fields.TextField(default='', unique=False)),
                ('license', fields.CharField(max_length=40)),
                ('language', fields.CharField(max_length=2)),
                ('position', fields.IntField(default=0)),
                ('present', fields.BooleanField(default=True)),
                ('notes', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('person_id', fields.IntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'attachment', 'app': 'models', 'unique_together': (('entry', 'digest'),), 'indexes': [Index(fields=['digest'])], 'pk_attr': 'id', 'table_description': 'A file of an entry: a digest with what people need to know about it.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AttachmentBlob',
            fields=[
                ('digest', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('size', fields.BigIntField()),
                ('media_type', fields.CharField(max_length=100)),
                ('text', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'attachment_blob', 'app': 'models', 'pk_attr': 'digest', 'table_description': 'Stored bytes, by digest: what the store holds, and the text found in them for search.'},
            bases=['Model'],
        ),
    ]
