import { render } from "@testing-library/react";
import { MemoryRouter, useLocation } from "react-router";
import { AppRoutes } from "../App";
import type { CurrentUser } from "../api/auth";
import { AuthProvider, type AuthState } from "../auth/AuthContext";
import type { Role } from "../auth/roles";

function LocationProbe() {
  const location = useLocation();
  return <output data-testid="test-location">{`${location.pathname}${location.search}`}</output>;
}

/** Renders the whole app at `path`, asking the (mocked) server who is signed in unless `auth` is given. */
export function renderApp(path: string, auth?: AuthState) {
  return render(
    <MemoryRouter initialEntries={[path]}>
      <AuthProvider initialState={auth}>
        <AppRoutes />
        <LocationProbe />
      </AuthProvider>
    </MemoryRouter>,
  );
}

export function makeUser(role: Role, overrides: Partial<CurrentUser> = {}): CurrentUser {
  return {
    id: 7,
    username: `${role}1`,
    role,
    display_name: `Test ${role}`,
    ...overrides,
  };
}

export function signedIn(role: Role, overrides: Partial<CurrentUser> = {}): AuthState {
  return { status: "authenticated", user: makeUser(role, overrides) };
}
