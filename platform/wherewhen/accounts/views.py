"""Session login for the browser, token auth for scripts.

Attempts are throttled and locked out before they reach these views
(``accounts.throttling.CredentialThrottleMiddleware``)."""

from django.contrib.auth import authenticate, login, logout
from django.views.decorators.csrf import ensure_csrf_cookie
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from wherewhen.accounts import lockout
from wherewhen.accounts.serializers import LoginSerializer, TokenSerializer, UserSerializer
from wherewhen.core.clientaddr import client_ip
from wherewhen.core.schema import INVALID

INVALID_CREDENTIALS = "Invalid username or password."
DetailSerializer = inline_serializer("Detail", {"detail": serializers.CharField()})


def enforce_csrf(request) -> None:
    """Browser logins and logouts must carry the CSRF token even before a session exists."""
    SessionAuthentication().enforce_csrf(request)


def _check_credentials(request) -> tuple[object | None, Response | None]:
    serializer = LoginSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    user = authenticate(
        request,
        username=serializer.validated_data["username"],
        password=serializer.validated_data["password"],
    )
    if user is None:
        return None, Response({"detail": INVALID_CREDENTIALS}, status=status.HTTP_400_BAD_REQUEST)
    lockout.clear(user.get_username(), client_ip(request))
    return user, None


class CsrfView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(responses={204: None}, summary="Set the CSRF cookie")
    def get(self, request):
        return ensure_csrf_cookie(lambda req: Response(status=status.HTTP_204_NO_CONTENT))(request)


class LoginView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        request=LoginSerializer,
        responses={200: UserSerializer, 400: INVALID},
        summary="Log in (browser session)",
    )
    def post(self, request):
        enforce_csrf(request)
        user, error = _check_credentials(request)
        if error:
            return error
        login(request, user)
        return Response(UserSerializer(user).data)


class LogoutView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(request=None, responses={204: None}, summary="Log out")
    def post(self, request):
        enforce_csrf(request)
        logout(request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: UserSerializer, 403: DetailSerializer}, summary="Who am I")
    def get(self, request):
        return Response(UserSerializer(request.user).data)


class TokenView(APIView):
    """Exchange a username and password for an API token (``Authorization: Token <key>``)."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(
        request=LoginSerializer,
        responses={200: TokenSerializer, 400: INVALID},
        summary="Get an API token",
    )
    def post(self, request):
        user, error = _check_credentials(request)
        if error:
            return error
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})
