"""What scoring reads of a video's annotations: its evidence, label by label.

:class:`VideoEvidence` is the one thing annotations hands to scoring (through
``services.video_evidence``): the consensus (or gold answer) of every label, every accepted
annotation, the frame times and size of the playback file, and the label rule. Scoring asks it
for references and human-baseline pairs and never reads annotation rows, consensus or
geometry itself. Plain data: no database access after it is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from wherewhen.annotations import labels as label_rules
from wherewhen.annotations.consensus import consensus_of_label, segments_of
from wherewhen.annotations.geometry import frame_boxes, labels_of

Boxes = list[list[float]]

CONSENSUS = "consensus"
ANNOTATOR = "annotator"


@dataclass
class LabelEvidence:
    """One reference's evidence of one label: the consensus (``assignment_id`` None; source
    gold or consensus) or one accepted annotation (source annotator)."""

    kind: str  # consensus | annotator
    assignment_id: int | None
    source: str  # gold | consensus | annotator
    frames: list[Boxes]  # per frame of the playback file: [[x0, y0, x1, y1], ...]
    visual: list[list[float]]  # "when" segments [start, end] in seconds
    sound: list[list[float]] = field(default_factory=list)


@dataclass
class BaselinePair:
    """One annotator's boxes of a label and the consensus of the others' boxes of it."""

    assignment_id: int
    own: list[Boxes]
    others: list[Boxes]


def _floats(items) -> list[list[float]]:
    return [[float(v) for v in item] for item in items]


@dataclass
class VideoEvidence:
    """Everything scoring needs of one video of a project."""

    project_id: int
    video_id: int
    task_label: str
    source: str  # gold | consensus | none
    width: int
    height: int
    times: tuple[float, ...]  # presentation time of every frame of the playback file
    consensus: dict[str, dict]  # label -> {"frames": [[box, ...] per frame], "when": {...}}
    annotations: list[tuple[int, dict]]  # accepted annotations: (assignment id, content)
    known_labels: list[str]  # the project's labels, its tasks' labels and these labels
    class_map: dict
    version: str = ""  # the ground truth version (hash of its inputs' ids and revisions)
    used: int = 0  # annotations (or gold answer) the ground truth was made of
    excluded: int = 0  # accepted annotations left out (annotator exposed to explanations)

    def has_evidence(self, label: str) -> bool:
        evidence = self.consensus.get(label)
        if not evidence:
            return False
        return any(evidence["frames"]) or any(evidence["when"].values())

    def label_for(self, class_name: str | None) -> label_rules.LabelChoice:
        """The label an explanation of ``class_name`` is scored against here."""
        return label_rules.resolve(
            class_name, self.class_map, self.known_labels, task_label=self.task_label
        )

    def references(self, label: str) -> list[LabelEvidence]:
        """The consensus of ``label`` first, then each accepted annotation's evidence of it
        (in the order they were submitted)."""
        fused = self.consensus.get(label) or {
            "frames": [[] for _ in self.times],
            "when": {"visual": [], "sound": []},
        }
        out = [
            LabelEvidence(
                CONSENSUS,
                None,
                self.source,
                [_floats(boxes) for boxes in fused["frames"]],
                _floats(fused["when"].get("visual", [])),
                _floats(fused["when"].get("sound", [])),
            )
        ]
        n = len(self.times)
        for assignment_id, content in self.annotations:
            out.append(
                LabelEvidence(
                    ANNOTATOR,
                    assignment_id,
                    "annotator",
                    [_floats(boxes) for boxes in frame_boxes(content, n, label)],
                    _floats(segments_of(content, "visual", label)),
                    _floats(segments_of(content, "sound", label)),
                )
            )
        return out

    def drawn_labels(self) -> list[str]:
        """Labels the accepted annotations drew, sorted."""
        return sorted({label for _, content in self.annotations for label in labels_of(content)})

    def baseline_pairs(self, label: str) -> list[BaselinePair]:
        """The human baseline's inputs for ``label``: each accepted annotation that drew a box
        of it against the consensus of the others (needs two or more annotations)."""
        if len(self.annotations) < 2:
            return []
        n = len(self.times)
        pairs = []
        for assignment_id, content in self.annotations:
            own = frame_boxes(content, n, label)
            if not any(own):
                continue
            others = [c for a, c in self.annotations if a != assignment_id]
            reference = consensus_of_label(others, n, label)["frames"]
            pairs.append(
                BaselinePair(
                    assignment_id,
                    [_floats(boxes) for boxes in own],
                    [_floats(boxes) for boxes in reference],
                )
            )
        return pairs
