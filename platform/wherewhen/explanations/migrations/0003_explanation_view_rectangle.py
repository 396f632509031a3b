from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("explanations", "0002_explanation_audio"),
    ]

    operations = [
        migrations.AddField(
            model_name="explanation",
            name="view",
            field=models.JSONField(
                blank=True,
                default=None,
                help_text="[x0, y0, x1, y1] the model saw, in video pixels; null: the whole frame",
                null=True,
            ),
        ),
    ]
