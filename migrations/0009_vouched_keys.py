"""Vouched keys with their provenance: one row per (origin, peer that vouched for it).

`known_origin` held one key per origin, first come first served, used no
matter whether the peer that vouched for it was still trusted. Its rows move
to `vouched_key` with the peer that vouched for them.
"""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


async def copy_keys(apps, schema_editor):  # type: ignore[no-untyped-def]
    await schema_editor.client.execute_script(
        "INSERT INTO vouched_key (origin, public_key, vouched_by, created_at) "
        "SELECT url, public_key, vouched_by, created_at FROM known_origin"
    )


async def copy_back(apps, schema_editor):  # type: ignore[no-untyped-def]
    await schema_editor.client.execute_script(
        "INSERT INTO known_origin (url, public_key, vouched_by, created_at) "
        "SELECT origin, MIN(public_key), MIN(vouched_by), MIN(created_at) FROM vouched_key GROUP BY origin"
    )


class Migration(migrations.Migration):
    dependencies = [("models", "0008_sessions_tokens")]

    initial = False

    operations = [
        ops.CreateModel(
            name="VouchedKey",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("origin", fields.CharField(max_length=300)),
                ("public_key", fields.CharField(max_length=64)),
                ("vouched_by", fields.CharField(max_length=300)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={"table": "vouched_key", "app": "models", "unique_together": (("origin", "vouched_by"),),
                     "pk_attr": "id",
                     "table_description": "The public key a peer vouched for, for an origin whose entries it relays (one row per voucher)."},
            bases=["Model"],
        ),
        ops.RunPython(copy_keys, copy_back),
        ops.DeleteModel(name="KnownOrigin"),
    ]
