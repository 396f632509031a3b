"""Boxes keep their CVAT attributes (name -> text value), so an import loses nothing."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("annotations", "0002_labels")]

    operations = [
        migrations.AddField(
            model_name="keyframe",
            name="attributes",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text=(
                    "CVAT attributes of this box, name -> text value (interpolated frames copy "
                    "them from the keyframe before)"
                ),
            ),
        ),
    ]
