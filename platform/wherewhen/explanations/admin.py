from pathlib import Path

from django import forms
from django.contrib import admin

from wherewhen.explanations.models import BulkRun, Explanation, Export, Flag, RegisteredModel
from workers.models.checkpoint_info import (
    CheckpointError,
    checkpoint_fingerprint,
    read_checkpoint_info,
)


class RegisteredModelForm(forms.ModelForm):
    class Meta:
        model = RegisteredModel
        fields = ["name", "description", "checkpoint_dir", "device", "public", "bundled", "owner"]

    def clean_checkpoint_dir(self) -> str:
        value = self.cleaned_data["checkpoint_dir"]
        if self.instance.pk:
            return self.instance.checkpoint_dir  # fixed after registration
        path = Path(value).expanduser()
        if not path.is_absolute():
            raise forms.ValidationError("Give the absolute path of the directory.")
        try:
            self.info = read_checkpoint_info(path)
            self.fingerprint = checkpoint_fingerprint(path)
        except CheckpointError as exc:
            raise forms.ValidationError(f"This is not a usable checkpoint: {exc}") from exc
        return str(path.resolve())


@admin.register(RegisteredModel)
class RegisteredModelAdmin(admin.ModelAdmin):
    """Registering here validates the directory exactly like the API does."""

    form = RegisteredModelForm
    list_display = ("name", "architecture", "device", "public", "bundled", "owner", "created_at")
    list_filter = ("architecture", "device", "public", "bundled")
    search_fields = ("name", "description", "checkpoint_dir")
    readonly_fields = ("architecture", "labels", "input_spec", "fingerprint", "created_at")

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "checkpoint_dir") if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if not change:
            architecture, spec, labels = form.info
            obj.architecture, obj.labels, obj.input_spec = architecture, labels, spec.to_dict()
            obj.fingerprint = form.fingerprint
            obj.owner = obj.owner or request.user
        super().save_model(request, obj, form, change)


class FlagInline(admin.TabularInline):
    model = Flag
    extra = 0
    fields = ("author", "reason", "comment", "time", "resolved", "created_at")
    readonly_fields = ("created_at",)


@admin.register(Explanation)
class ExplanationAdmin(admin.ModelAdmin):
    list_display = ("id", "method", "video", "model", "source", "status", "attempts", "created_at")
    list_filter = ("status", "source", "method")
    search_fields = ("request_key", "video__title", "method")
    readonly_fields = [f.name for f in Explanation._meta.fields]
    inlines = [FlagInline]


@admin.register(Flag)
class FlagAdmin(admin.ModelAdmin):
    list_display = ("explanation", "author", "reason", "resolved", "created_at")
    list_filter = ("reason", "resolved")


@admin.register(Export)
class ExportAdmin(admin.ModelAdmin):
    list_display = ("explanation", "kind", "status", "size_bytes", "created_at")
    list_filter = ("kind", "status")


@admin.register(BulkRun)
class BulkRunAdmin(admin.ModelAdmin):
    list_display = ("id", "dataset", "model", "methods", "owner", "created_at")
    readonly_fields = ("explanations",)
