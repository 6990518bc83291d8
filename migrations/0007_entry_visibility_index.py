from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0006_search_levels')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Entry',
            index=Index(fields=['visibility', 'deleted', 'updated_at', 'id']),
        ),
    ]
