"""Labels all the way through: segments carry their label (existing ones take their task's
label), and projects say how model classes map to annotation labels."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def label_segments(apps, schema_editor):
    Segment = apps.get_model("annotations", "Segment")
    Task = apps.get_model("annotations", "Task")
    task_label = Task.objects.filter(assignments=OuterRef("assignment")).values("label")[:1]
    Segment.objects.filter(label="").update(label=Subquery(task_label))


class Migration(migrations.Migration):
    dependencies = [("annotations", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="project",
            name="class_map",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text=(
                    "Model class name -> annotation label, for classes whose label has another "
                    "name (the default pairs a class with the label of the same name, ignoring "
                    "case)"
                ),
            ),
        ),
        migrations.AddField(
            model_name="segment",
            name="label",
            field=models.CharField(
                default="", help_text="What happens (an annotation label)", max_length=100
            ),
            preserve_default=False,
        ),
        migrations.RunPython(label_segments, migrations.RunPython.noop),
        migrations.AlterModelOptions(name="segment", options={"ordering": ["kind", "label", "start"]}),
    ]
