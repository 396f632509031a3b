from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("videos", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="video",
            name="source_info",
            field=models.JSONField(
                blank=True,
                default=dict,
            ),
        ),
    ]
