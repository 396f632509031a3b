import { Navigate, Outlet, useLocation } from "react-router";
import { useAuth } from "./AuthContext";
import { loginPathFor } from "./next";
import { LoadingScreen, ServerUnavailable } from "../components/StatusScreens";

/** Renders its child routes only for a signed-in user; others go to /login?next=... */
export function RequireAuth() {
  const { state, reload } = useAuth();
  const location = useLocation();

  if (state.status === "loading") return <LoadingScreen />;
  if (state.status === "error") return <ServerUnavailable message={state.message} onRetry={reload} />;
  if (state.status === "anonymous") {
    return <Navigate to={state.signedOut ? "/login" : loginPathFor(location)} replace />;
  }
  return <Outlet />;
}
