"""Role-based DRF permissions over the role rules of :mod:`wherewhen.accounts.access`."""

from rest_framework.permissions import BasePermission

from wherewhen.accounts import access


class HasRole(BasePermission):
    roles: tuple[str, ...] = ()
    message = "Your account's role does not allow this."

    def has_permission(self, request, view) -> bool:
        return access.has_role(request.user, self.roles)


class IsResearcher(HasRole):
    roles = access.RESEARCHERS
    message = "Only researchers can do this."


class IsReviewer(HasRole):
    roles = access.REVIEWERS
    message = "Only reviewers and researchers can do this."


class IsAnnotator(HasRole):
    roles = access.ANNOTATORS
    message = "Only annotators can do this."


class DoesAnnotationWork(HasRole):
    """Annotators (their own work), researchers (their projects') and reviewers (submitted
    work) see assignments; other roles have none."""

    roles = access.ANNOTATORS + access.REVIEWERS
    message = "Only annotators, reviewers and researchers can see annotation work."
