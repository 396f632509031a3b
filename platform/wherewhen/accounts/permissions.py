"""Role-based DRF permissions."""

from rest_framework.permissions import BasePermission

from wherewhen.accounts.models import Role


class HasRole(BasePermission):
    roles: tuple[str, ...] = ()
    message = "Your account's role does not allow this."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(
            user and user.is_authenticated and (user.is_superuser or user.role in self.roles)
        )


class IsResearcher(HasRole):
    roles = (Role.RESEARCHER,)
    message = "Only researchers can do this."


class IsReviewer(HasRole):
    roles = (Role.REVIEWER, Role.RESEARCHER)
    message = "Only reviewers and researchers can do this."


class IsAnnotator(HasRole):
    roles = (Role.ANNOTATOR,)
    message = "Only annotators can do this."
