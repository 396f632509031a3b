"""Who may do what, by role: the one place the role rules are written.

Permission classes (:mod:`wherewhen.accounts.permissions`) and every app's services ask these
predicates; object rules ("which projects does this user see") live in each app's access module
and are built on them. A superuser passes every role check; anonymous users pass none.

=============  ==========================================================================
predicate      who
=============  ==========================================================================
is_researcher  researchers: own models, videos, projects, studies
reviews        reviewers and researchers: review annotations, browse explanations, scores
sees_all       reviewers: read every project's and every owner's work
is_annotator   annotators: take tasks, draw, submit
=============  ==========================================================================
"""

from __future__ import annotations

from wherewhen.accounts.models import Role

RESEARCHERS = (Role.RESEARCHER,)
REVIEWERS = (Role.REVIEWER, Role.RESEARCHER)
ANNOTATORS = (Role.ANNOTATOR,)


def has_role(user, roles: tuple[str, ...]) -> bool:
    """Signed in, and a superuser or one of ``roles``."""
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and (user.is_superuser or getattr(user, "role", None) in roles)
    )


def is_researcher(user) -> bool:
    return has_role(user, RESEARCHERS)


def reviews(user) -> bool:
    """Reviewers and researchers (the role of everyone who judges work)."""
    return has_role(user, REVIEWERS)


def sees_all(user) -> bool:
    """Reviewers (and superusers) read every owner's projects and videos."""
    return has_role(user, (Role.REVIEWER,))


def is_annotator(user) -> bool:
    return has_role(user, ANNOTATORS)
