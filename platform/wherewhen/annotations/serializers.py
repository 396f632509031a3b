"""API shapes for crowd annotation. Validation of annotation content lives in services.

The file's size is one concern: the request and response shapes of the annotation API, one
class per shape, in four sections (annotation content, projects and tasks, quality and ground
truth, assignments).
"""

from __future__ import annotations

from django.db.models import Count, Q
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from wherewhen.accounts.models import Role, User
from wherewhen.annotations import labels as label_rules
from wherewhen.annotations import services
from wherewhen.annotations.geometry import MAX_LABEL_LENGTH
from wherewhen.annotations.models import Assignment, Project, Task, TrackingJob
from wherewhen.core import limits
from wherewhen.videos.models import Dataset, Video

# --- annotation content ----------------------------------------------------------------------


class AnnotationKeyframeSerializer(serializers.Serializer):
    frame = serializers.IntegerField(help_text="Index into the video's frame_timestamps")
    x0 = serializers.FloatField()
    y0 = serializers.FloatField()
    x1 = serializers.FloatField()
    y1 = serializers.FloatField()
    outside = serializers.BooleanField(default=False)
    occluded = serializers.BooleanField(default=False)
    attributes = serializers.DictField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False),
        required=False,
        help_text=(
            "CVAT attributes of the box, name -> text value (interpolated frames copy them "
            "from the keyframe before); left out when the box has none"
        ),
    )
    tracked = serializers.BooleanField(
        required=False,
        help_text=(
            "A box the tracker proposed and the annotator kept (not one they drew); left out "
            "when false"
        ),
    )
    hold = serializers.BooleanField(
        required=False,
        help_text=(
            "Interpolation off from this keyframe: the box stays until the next keyframe; left "
            "out when false"
        ),
    )


class AnnotationTrackSerializer(serializers.Serializer):
    label = serializers.CharField(
        required=False, allow_blank=True, max_length=MAX_LABEL_LENGTH, default=""
    )
    keyframes = AnnotationKeyframeSerializer(many=True)


class AnnotationSegmentSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["visual", "sound"], default="visual")
    label = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=MAX_LABEL_LENGTH,
        default="",
        help_text="What happens (an annotation label; empty: the task's label)",
    )
    start = serializers.FloatField(help_text="seconds")
    end = serializers.FloatField(help_text="seconds")


class AnnotationSerializer(serializers.Serializer):
    tracks = AnnotationTrackSerializer(many=True, default=list)
    segments = AnnotationSegmentSerializer(many=True, default=list)


def _plain(data: dict) -> dict:
    """Validated nested data as plain dicts, in the shape the services take."""
    return {
        "tracks": [
            dict(t, keyframes=[dict(k) for k in t["keyframes"]]) for t in data.get("tracks", [])
        ],
        "segments": [dict(s) for s in data.get("segments", [])],
    }


class AnnotationWriteSerializer(AnnotationSerializer):
    version = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="The version this content is based on; a stale one is refused (409).",
    )

    def annotation(self) -> dict:
        return _plain(self.validated_data)


class AnnotationSubmitSerializer(AnnotationWriteSerializer):
    """Submit this content, or the saved draft when the body has neither tracks nor segments."""

    tracks = AnnotationTrackSerializer(many=True, required=False)
    segments = AnnotationSegmentSerializer(many=True, required=False)

    def annotation(self) -> dict | None:
        if "tracks" not in self.validated_data and "segments" not in self.validated_data:
            return None
        return _plain(self.validated_data)


# --- projects and tasks ----------------------------------------------------------------------


class AnnotationProgressSerializer(serializers.Serializer):
    videos = serializers.IntegerField()
    gold_items = serializers.IntegerField()
    videos_done = serializers.IntegerField()
    flagged = serializers.IntegerField()
    in_progress = serializers.IntegerField()
    expired = serializers.IntegerField()
    submitted = serializers.IntegerField()
    accepted = serializers.IntegerField()
    rejected = serializers.IntegerField()


class AnnotationProjectSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True)
    labels = serializers.ListField(
        child=serializers.CharField(max_length=MAX_LABEL_LENGTH), required=False, default=list
    )
    overlap = serializers.IntegerField(min_value=1, max_value=50, default=3)
    max_overlap = serializers.IntegerField(min_value=1, max_value=100, required=False)
    lease_minutes = serializers.IntegerField(min_value=1, max_value=24 * 60, default=30)
    rework_minutes = serializers.IntegerField(
        min_value=10,
        max_value=30 * 24 * 60,
        default=2 * 24 * 60,
        help_text=(
            "How long rejected work waits for its annotator (minutes, 10 to 43200) before it "
            "returns to the pool for another annotator"
        ),
    )
    gold_every = serializers.IntegerField(min_value=0, max_value=1000, default=5)
    snap_segments = serializers.BooleanField(default=False)
    gold_feedback = serializers.BooleanField(default=True)
    gold_pass_iou = serializers.FloatField(min_value=0.0, max_value=1.0, default=0.5)
    qualification_gold = serializers.IntegerField(min_value=0, max_value=100, default=0)
    agreement_threshold = serializers.FloatField(min_value=0.0, max_value=1.0, default=0.5)
    annotators = serializers.PrimaryKeyRelatedField(
        many=True,
        required=False,
        queryset=User.objects.filter(role=Role.ANNOTATOR),
        help_text="Annotators who may work on it (empty: every annotator)",
    )
    class_map = serializers.DictField(
        child=serializers.CharField(allow_null=True, max_length=MAX_LABEL_LENGTH),
        required=False,
        help_text=(
            "Model class name -> annotation label (null: the class is not scored). Classes "
            "without an entry take the label of the same name, ignoring case."
        ),
    )
    progress = serializers.SerializerMethodField()

    class Meta:
        model = Project
        fields = [
            "id",
            "name",
            "owner",
            "instructions",
            "labels",
            "class_map",
            "overlap",
            "max_overlap",
            "lease_minutes",
            "rework_minutes",
            "show_predictions",
            "exclude_exposed",
            "auto_accept",
            "gold_every",
            "snap_segments",
            "gold_feedback",
            "gold_pass_iou",
            "qualification_gold",
            "agreement_threshold",
            "active",
            "annotators",
            "created_at",
            "updated_at",
            "progress",
        ]
        read_only_fields = ["id", "owner", "created_at", "updated_at", "progress"]

    @extend_schema_field(AnnotationProgressSerializer)
    def get_progress(self, project: Project) -> dict:
        return services.project_progress(project)

    def validate_labels(self, labels: list[str]) -> list[str]:
        if len(labels) > limits.PROJECT_LABELS_MAX:
            raise serializers.ValidationError(
                f"A project lists at most {limits.PROJECT_LABELS_MAX} labels; got {len(labels)}."
            )
        cleaned = [label.strip() for label in labels]
        if any(not label for label in cleaned):
            raise serializers.ValidationError("Labels cannot be empty.")
        if len(set(cleaned)) != len(cleaned):
            raise serializers.ValidationError("Each label may appear only once.")
        return cleaned

    def validate_name(self, name: str) -> str:
        name = name.strip()
        owner = self.context["request"].user
        clash = Project.objects.filter(owner=owner, name=name)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise serializers.ValidationError("You already have a project with this name.")
        return name

    def validate(self, attrs: dict) -> dict:
        overlap = attrs.get("overlap", getattr(self.instance, "overlap", 3))
        if "max_overlap" not in attrs and self.instance is None:
            attrs["max_overlap"] = max(overlap + 2, 5)
        max_overlap = attrs.get("max_overlap", getattr(self.instance, "max_overlap", overlap))
        if max_overlap < overlap:
            raise serializers.ValidationError(
                {"max_overlap": ["The most annotators per video cannot be below the overlap k."]}
            )
        if "class_map" in attrs:
            labels = attrs.get("labels")
            if labels is None and self.instance is not None:
                labels = self.instance.labels
            try:
                attrs["class_map"] = label_rules.clean_class_map(attrs["class_map"], labels or [])
            except ValueError as error:
                raise serializers.ValidationError({"class_map": [str(error)]}) from None
        return attrs


class AnnotationVideoBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Video
        fields = ["id", "title", "width", "height", "fps", "duration", "frame_count"]
        read_only_fields = fields


class AnnotationTaskSerializer(serializers.ModelSerializer):
    video = AnnotationVideoBriefSerializer(read_only=True)
    required = serializers.IntegerField(read_only=True)
    has_gold_answer = serializers.SerializerMethodField()
    counts = serializers.SerializerMethodField()

    class Meta:
        model = Task
        fields = [
            "id",
            "project",
            "video",
            "label",
            "is_gold",
            "has_gold_answer",
            "required",
            "extra_overlap",
            "agreement",
            "flagged",
            "counts",
            "created_at",
        ]
        read_only_fields = fields

    def get_has_gold_answer(self, task: Task) -> bool:
        return task.assignments.filter(source=Assignment.Source.GOLD).exists()

    def get_counts(self, task: Task) -> dict[str, int]:
        status = Assignment.Status
        return task.assignments.filter(source=Assignment.Source.CROWD).aggregate(
            **{
                s: Count("id", filter=Q(status=s))
                for s in (status.IN_PROGRESS, status.SUBMITTED, status.ACCEPTED, status.REJECTED)
            }
        )


class AnnotationAddVideosSerializer(serializers.Serializer):
    videos = serializers.ListField(child=serializers.IntegerField(), required=False, default=list)
    dataset = serializers.IntegerField(required=False, allow_null=True, default=None)
    label = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)
    gold = serializers.BooleanField(default=False)

    def validate(self, attrs: dict) -> dict:
        user = self.context["request"].user
        owned = Video.objects.all() if user.is_superuser else Video.objects.filter(owner=user)
        ids = list(dict.fromkeys(attrs["videos"]))
        found = {v.pk: v for v in owned.filter(pk__in=ids)}
        missing = [str(i) for i in ids if i not in found]
        if missing:
            raise serializers.ValidationError(
                {"videos": [f"No video of yours has id {', '.join(missing)}."]}
            )
        attrs["video_objects"] = [found[i] for i in ids]
        attrs["dataset_object"] = None
        if attrs["dataset"] is not None:
            datasets = (
                Dataset.objects.all() if user.is_superuser else Dataset.objects.filter(owner=user)
            )
            attrs["dataset_object"] = datasets.filter(pk=attrs["dataset"]).first()
            if attrs["dataset_object"] is None:
                raise serializers.ValidationError(
                    {"dataset": [f"No dataset of yours has id {attrs['dataset']}."]}
                )
        if not attrs["video_objects"] and attrs["dataset_object"] is None:
            raise serializers.ValidationError(
                {"videos": ["Choose at least one video or a dataset."]}
            )
        return attrs


class MoreAnnotatorsSerializer(serializers.Serializer):
    count = serializers.IntegerField(min_value=1, max_value=10, default=1)


class CvatImportSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="A CVAT for video 1.1 XML file")
    video = serializers.IntegerField()
    target = serializers.ChoiceField(choices=["ground_truth", "gold"], default="ground_truth")


class CvatImportLabelSerializer(serializers.Serializer):
    label = serializers.CharField()
    tracks = serializers.IntegerField()
    boxes = serializers.IntegerField()
    segments = serializers.IntegerField()


class CvatImportSummarySerializer(serializers.Serializer):
    """What an import read from the file, and every change it made to store it."""

    tracks = serializers.IntegerField()
    boxes = serializers.IntegerField(help_text="<box> elements read")
    keyframes = serializers.IntegerField(help_text='Boxes marked keyframe="1"')
    interpolated = serializers.IntegerField(help_text='Boxes marked keyframe="0"')
    occluded = serializers.IntegerField(help_text='Boxes marked occluded="1"')
    outside = serializers.IntegerField(help_text='Boxes marked outside="1"')
    attributes = serializers.IntegerField(help_text="Attribute values read on boxes")
    segments = serializers.IntegerField(help_text="<time_segment> elements read")
    labels = CvatImportLabelSerializer(many=True)
    stored_keyframes = serializers.IntegerField(
        help_text="Keyframes stored: the file's and the materialised ones"
    )
    materialised = serializers.IntegerField(
        help_text="Non-keyframe boxes stored as keyframes to keep them as they are"
    )
    rounded = serializers.IntegerField(
        help_text="Boxes that differ from the file only by its 0.01 px rounding"
    )
    changes = serializers.ListField(
        child=serializers.CharField(), help_text="Every change made, in words"
    )


class AnnotationExportQuerySerializer(serializers.Serializer):
    # Not "format": DRF reads that query parameter to pick a renderer.
    type = serializers.ChoiceField(choices=["coco", "csv", "cvat"], default="coco")
    source = serializers.ChoiceField(choices=["consensus", "accepted", "all"], default="consensus")
    frames = serializers.ChoiceField(
        choices=["dense", "keyframes"],
        default="dense",
        help_text="dense: a box on every frame; keyframes: only the stored boxes (COCO, CVAT)",
    )


# --- quality and ground truth ---------------------------------------------------------------


class AnnotationUserSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class AnnotatorQualitySerializer(serializers.Serializer):
    annotator = AnnotationUserSerializer()
    in_progress = serializers.IntegerField()
    submitted = serializers.IntegerField()
    accepted = serializers.IntegerField()
    rejected = serializers.IntegerField()
    expired = serializers.IntegerField()
    gold_items = serializers.IntegerField()
    gold_box_iou = serializers.FloatField(allow_null=True)
    gold_segment_iou = serializers.FloatField(allow_null=True)


class AnnotationVideoQualitySerializer(serializers.Serializer):
    task = serializers.IntegerField()
    video = serializers.IntegerField()
    title = serializers.CharField()
    is_gold = serializers.BooleanField()
    accepted = serializers.IntegerField()
    required = serializers.IntegerField()
    agreement = serializers.FloatField(allow_null=True)
    flagged = serializers.BooleanField()


class AnnotationQualitySerializer(serializers.Serializer):
    annotators = AnnotatorQualitySerializer(many=True)
    videos = AnnotationVideoQualitySerializer(many=True)
    agreement_threshold = serializers.FloatField()


class VideoGroundTruthFrameSerializer(serializers.Serializer):
    frame = serializers.IntegerField()
    time = serializers.FloatField()
    boxes = serializers.ListField(
        child=serializers.ListField(child=serializers.FloatField(), min_length=4, max_length=4),
        help_text="[x0, y0, x1, y1] closed rectangles in source pixels",
    )
    labels = serializers.ListField(
        child=serializers.CharField(), help_text="the label of each box, in the same order"
    )


class VideoGroundTruthWhenLabelsSerializer(serializers.Serializer):
    visual = serializers.ListField(
        child=serializers.CharField(), help_text="the label of each visual segment"
    )
    sound = serializers.ListField(
        child=serializers.CharField(), help_text="the label of each sound segment"
    )


class VideoGroundTruthWhenSerializer(serializers.Serializer):
    visual = serializers.ListField(
        child=serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2)
    )
    sound = serializers.ListField(
        child=serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2)
    )


class VideoGroundTruthSerializer(serializers.Serializer):
    project = serializers.IntegerField()
    video = serializers.IntegerField()
    task = serializers.IntegerField()
    label = serializers.CharField(help_text="the task's class (the label it localizes)")
    labels = serializers.ListField(
        child=serializers.CharField(), help_text="labels with evidence in this ground truth"
    )
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    fps = serializers.FloatField(allow_null=True)
    duration = serializers.FloatField(allow_null=True)
    n_frames = serializers.IntegerField()
    source = serializers.ChoiceField(choices=["gold", "consensus", "none"])
    annotations = serializers.IntegerField()
    excluded_annotations = serializers.IntegerField(
        help_text="accepted annotations left out: their annotator had seen an explanation of "
        "the video before submitting"
    )
    exclude_exposed = serializers.BooleanField(help_text="the project's exposure setting")
    version = serializers.CharField(help_text="the ground truth version (hash of its inputs)")
    agreement = serializers.FloatField(allow_null=True)
    flagged = serializers.BooleanField()
    frames = VideoGroundTruthFrameSerializer(many=True)
    when = VideoGroundTruthWhenSerializer()
    when_labels = VideoGroundTruthWhenLabelsSerializer()


# --- assignments -----------------------------------------------------------------------------


class AnnotationProjectBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Project
        fields = ["id", "name", "instructions", "labels", "show_predictions"]
        read_only_fields = fields


class AnnotationProjectRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class AnnotationVideoRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()


class AnnotationAssignmentSerializer(serializers.ModelSerializer):
    """An assignment in lists (review queue, an annotator's work)."""

    project = serializers.SerializerMethodField()
    video = serializers.SerializerMethodField()
    label = serializers.CharField(source="task.label", read_only=True)
    annotator = serializers.CharField(
        source="annotator.username", read_only=True, default=None, allow_null=True
    )
    reviewer = serializers.CharField(
        source="reviewer.username", read_only=True, default=None, allow_null=True
    )
    review_holder = serializers.CharField(
        source="review_holder.username",
        read_only=True,
        default=None,
        allow_null=True,
        help_text="The reviewer who took it from the review queue (while their lease runs)",
    )

    class Meta:
        model = Assignment
        fields = [
            "id",
            "task",
            "project",
            "video",
            "label",
            "status",
            "source",
            "annotator",
            "lease_expires_at",
            "version",
            "draft_saved_at",
            "submitted_at",
            "reviewed_at",
            "reviewer",
            "review_comment",
            "review_holder",
            "review_lease_expires_at",
            "created_at",
        ]
        read_only_fields = fields

    def to_representation(self, assignment: Assignment) -> dict:
        data = super().to_representation(assignment)
        lease = assignment.review_lease_expires_at
        if lease is None or lease <= timezone.now():  # a lapsed lease holds nothing
            data["review_holder"] = data["review_lease_expires_at"] = None
        return data

    @extend_schema_field(AnnotationProjectRefSerializer)
    def get_project(self, assignment: Assignment) -> dict:
        return {"id": assignment.task.project_id, "name": assignment.task.project.name}

    @extend_schema_field(AnnotationVideoRefSerializer)
    def get_video(self, assignment: Assignment) -> dict:
        return {"id": assignment.task.video_id, "title": assignment.task.video.title}


class CvatImportResultSerializer(AnnotationAssignmentSerializer):
    """The imported assignment, with the summary of what the file held (schema only)."""

    summary = CvatImportSummarySerializer(read_only=True)

    class Meta(AnnotationAssignmentSerializer.Meta):
        fields = [*AnnotationAssignmentSerializer.Meta.fields, "summary"]
        read_only_fields = fields


class AnnotationWorkspaceVideoSerializer(serializers.ModelSerializer):
    frame_timestamps = serializers.ListField(child=serializers.FloatField(), read_only=True)

    class Meta:
        model = Video
        fields = [
            "id",
            "title",
            "width",
            "height",
            "fps",
            "duration",
            "frame_count",
            "frame_timestamps",
            "has_audio",
        ]
        read_only_fields = fields


class ReviewNoteSerializer(serializers.Serializer):
    frame = serializers.IntegerField(help_text="Index into the video's frame_timestamps")
    track = serializers.IntegerField(
        allow_null=True, required=False, default=None, help_text="Track index, or null"
    )
    text = serializers.CharField(max_length=1000)


class GoldFeedbackSerializer(serializers.Serializer):
    box_iou = serializers.FloatField(allow_null=True)
    segment_iou = serializers.FloatField(allow_null=True)
    boundary_error = serializers.FloatField(
        allow_null=True, help_text="Mean distance of the segment bounds from the answer's, s"
    )
    passed = serializers.BooleanField()
    pass_iou = serializers.FloatField()
    gold_done = serializers.IntegerField()
    gold_passed = serializers.IntegerField()
    running_accuracy = serializers.FloatField()


class AnnotationAssignmentDetailSerializer(AnnotationAssignmentSerializer):
    """Everything the annotation workspace needs for one assignment."""

    project = AnnotationProjectBriefSerializer(source="task.project", read_only=True)
    video = AnnotationWorkspaceVideoSerializer(source="task.video", read_only=True)
    labels = serializers.SerializerMethodField()
    video_url = serializers.SerializerMethodField()
    draft = serializers.SerializerMethodField()
    annotation = serializers.SerializerMethodField()
    gold_feedback = serializers.SerializerMethodField()
    review_notes = ReviewNoteSerializer(many=True, read_only=True)

    class Meta(AnnotationAssignmentSerializer.Meta):
        fields = [
            *AnnotationAssignmentSerializer.Meta.fields,
            "labels",
            "video_url",
            "draft",
            "annotation",
            "gold_feedback",
            "review_notes",
        ]
        read_only_fields = fields

    def get_labels(self, assignment: Assignment) -> list[str]:
        return services.task_labels(assignment.task) or [assignment.task.label]

    def get_video_url(self, assignment: Assignment) -> str:
        return f"/api/v1/annotation/assignments/{assignment.pk}/video/"

    @extend_schema_field(AnnotationSerializer)
    def get_draft(self, assignment: Assignment) -> dict:
        draft = assignment.draft or {}
        return {"tracks": draft.get("tracks", []), "segments": draft.get("segments", [])}

    @extend_schema_field(AnnotationSerializer(allow_null=True))
    def get_annotation(self, assignment: Assignment) -> dict | None:
        if assignment.submitted_at is None:
            return None
        return services.annotation_of(assignment)

    @extend_schema_field(GoldFeedbackSerializer(allow_null=True))
    def get_gold_feedback(self, assignment: Assignment) -> dict | None:
        """After a gold item is submitted, when the project shows it."""
        if not assignment.gold_feedback or not assignment.task.project.gold_feedback:
            return None
        return assignment.gold_feedback


class NextTaskRequestSerializer(serializers.Serializer):
    project = serializers.IntegerField(required=False, allow_null=True, default=None)


class NextReviewRequestSerializer(serializers.Serializer):
    project = serializers.IntegerField(
        required=False, allow_null=True, default=None, help_text="Only this project"
    )


class NextTaskSerializer(serializers.Serializer):
    assignment = AnnotationAssignmentDetailSerializer(allow_null=True)
    message = serializers.CharField()


class AnnotationQueueProjectSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    instructions = serializers.CharField()
    labels = serializers.ListField(child=serializers.CharField())
    available = serializers.BooleanField(help_text="Whether a task is waiting for you")
    mine = serializers.IntegerField(help_text="Your assignments in this project")


class AnnotationReviewSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["accept", "reject"])
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    notes = ReviewNoteSerializer(many=True, required=False, default=list)


class DraftSavedSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    draft_saved_at = serializers.DateTimeField()
    lease_expires_at = serializers.DateTimeField(allow_null=True)


class ClassChoiceSerializer(serializers.Serializer):
    class_name = serializers.CharField()
    label = serializers.CharField(allow_null=True, help_text="null: not scored")
    explicit = serializers.BooleanField(help_text="decided by an entry of the class map")


class ClassMapSerializer(serializers.Serializer):
    model = serializers.IntegerField()
    labels = serializers.ListField(child=serializers.CharField())
    classes = ClassChoiceSerializer(many=True)


# --- assisted tracking -----------------------------------------------------------------------


class TrackRequestSerializer(serializers.Serializer):
    assignment = serializers.IntegerField(help_text="The assignment (held by the annotator)")
    frame = serializers.IntegerField(min_value=0, help_text="Frame the box is on")
    box = serializers.ListField(
        child=serializers.FloatField(), min_length=4, max_length=4, help_text="[x0, y0, x1, y1]"
    )
    direction = serializers.ChoiceField(choices=["forward", "backward"], default="forward")
    count = serializers.IntegerField(
        min_value=1,
        required=False,
        allow_null=True,
        help_text="Frames to track (default: to the video's end or start)",
    )
    method = serializers.ChoiceField(choices=["csrt", "kcf", "mil"], default="csrt")


class TrackedBoxSerializer(serializers.Serializer):
    frame = serializers.IntegerField()
    x0 = serializers.FloatField()
    y0 = serializers.FloatField()
    x1 = serializers.FloatField()
    y1 = serializers.FloatField()


class TrackingJobSerializer(serializers.ModelSerializer):
    boxes = TrackedBoxSerializer(many=True, read_only=True)

    class Meta:
        model = TrackingJob
        fields = [
            "id",
            "assignment",
            "direction",
            "method",
            "start_frame",
            "end_frame",
            "status",
            "progress",
            "boxes",
            "lost_at",
            "error",
            "in_process",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields
