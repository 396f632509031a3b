"""Which annotation label a model class is scored against (the label rule, stated once).

A pointing game is per class: an explanation of class ``c`` is scored only against the evidence
(boxes, segments) labelled with the annotation label that ``c`` maps to. A project says how the
model's classes map to its labels in ``Project.class_map`` (``{class name: label or null}``):

1. an entry for the class (class names compared ignoring case and surrounding spaces) decides:
   its label, or ``null`` for "this class is not scored in this project";
2. otherwise the label of the same name, ignoring case, among the project's labels (its label
   set, its tasks' labels and the labels its evidence carries);
3. otherwise the class has no label and its explanations are *not scored* (with that reason),
   never counted as a miss or against another label.

Several classes may map to one label. An explanation whose class has no name (an import that
gave none, a model without class names) is taken to explain its video's task label.

Plain functions over strings, so the rule is tested without a database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

MAX_CLASS_MAP_ENTRIES = 5000
MAX_NAME_LENGTH = 200


def fold(name: str) -> str:
    """The form two names are compared in (case and surrounding spaces ignored)."""
    return " ".join(str(name).split()).casefold()


@dataclass(frozen=True)
class LabelChoice:
    """The label a class is scored against (``None``: not scored) and why."""

    class_name: str | None
    label: str | None
    explicit: bool  # decided by an entry of the class map
    reason: str  # why it is not scored ("" when it is)


def resolve(
    class_name: str | None,
    class_map: Mapping[str, str | None],
    labels: Iterable[str],
    *,
    task_label: str = "",
) -> LabelChoice:
    """The label ``class_name`` is scored against (see the module docstring)."""
    known = list(dict.fromkeys(labels))
    if class_name is None or not str(class_name).strip():
        if task_label:
            return LabelChoice(None, task_label, False, "")
        return LabelChoice(None, None, False, "Not scored: the explained class is unknown.")
    key = fold(class_name)
    for name, label in (class_map or {}).items():
        if fold(name) == key:
            if label is None or not str(label).strip():
                return LabelChoice(
                    class_name,
                    None,
                    True,
                    f"Not scored: the project maps class '{class_name}' to no label.",
                )
            return LabelChoice(class_name, str(label), True, "")
    for label in known:
        if fold(label) == key:
            return LabelChoice(class_name, label, False, "")
    return LabelChoice(
        class_name,
        None,
        False,
        f"Not scored: class '{class_name}' maps to no annotation label of the project "
        "(no label of that name, and no entry in its class map).",
    )


def clean_class_map(value: object, labels: Iterable[str] = ()) -> dict[str, str | None]:
    """Check a class map from a request: ``{class name: label or null}``. With ``labels``
    (the project's label set, when it has one) every label must be one of them. Raises
    ``ValueError`` with a readable message."""
    if not isinstance(value, dict):
        raise ValueError("The class map must be an object: {class name: label or null}.")
    if len(value) > MAX_CLASS_MAP_ENTRIES:
        raise ValueError(f"The class map may have at most {MAX_CLASS_MAP_ENTRIES} entries.")
    allowed = list(labels)
    cleaned: dict[str, str | None] = {}
    seen: dict[str, str] = {}
    for name, label in value.items():
        name = " ".join(str(name).split())
        if not name or len(name) > MAX_NAME_LENGTH or "\x00" in name:
            raise ValueError(
                f"Class names must be 1 to {MAX_NAME_LENGTH} characters (got {name[:40]!r})."
            )
        if fold(name) in seen:
            raise ValueError(
                f"Classes '{seen[fold(name)]}' and '{name}' are the same name (case is ignored)."
            )
        seen[fold(name)] = name
        if label is not None:
            if not isinstance(label, str) or not label.strip() or len(label) > 100:
                raise ValueError(f"Class '{name}': the label must be a label's name or null.")
            label = label.strip()
            if allowed and label not in allowed:
                raise ValueError(
                    f"Class '{name}': '{label}' is not one of the project's labels "
                    f"({', '.join(allowed)})."
                )
        cleaned[name] = label
    return cleaned
