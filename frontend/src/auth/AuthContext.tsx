import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import * as authApi from "../api/auth";
import type { CurrentUser } from "../api/auth";
import { errorMessage } from "../api/errors";

export type AuthState =
  | { status: "loading" }
  /** `signedOut` when the user just signed out here (no `next` is kept then). */
  | { status: "anonymous"; signedOut?: boolean }
  | { status: "authenticated"; user: CurrentUser }
  | { status: "error"; message: string };

export interface AuthContextValue {
  state: AuthState;
  /** Signs in; throws an ApiError with a readable message on failure. */
  signIn: (username: string, password: string) => Promise<CurrentUser>;
  /** Ends the session; throws when the server could not be told. */
  signOut: () => Promise<void>;
  /** Asks the server again who is signed in. */
  reload: () => Promise<void>;
}

const AuthContext = createContext<AuthContextValue | null>(null);

export interface AuthProviderProps {
  children: ReactNode;
  /** Starting state, for tests and previews; by default the server is asked. */
  initialState?: AuthState;
}

export function AuthProvider({ children, initialState }: AuthProviderProps) {
  const [state, setState] = useState<AuthState>(initialState ?? { status: "loading" });

  const reload = useCallback(async () => {
    try {
      const user = await authApi.fetchCurrentUser();
      setState(user ? { status: "authenticated", user } : { status: "anonymous" });
    } catch (error) {
      setState({ status: "error", message: errorMessage(error) });
    }
  }, []);

  useEffect(() => {
    if (initialState) return;
    let active = true;
    authApi
      .fetchCurrentUser()
      .then((user) => {
        if (active) setState(user ? { status: "authenticated", user } : { status: "anonymous" });
      })
      .catch((error: unknown) => {
        if (active) setState({ status: "error", message: errorMessage(error) });
      });
    return () => {
      active = false;
    };
  }, [initialState]);

  const signIn = useCallback(async (username: string, password: string) => {
    const user = await authApi.login({ username, password });
    setState({ status: "authenticated", user });
    return user;
  }, []);

  const signOut = useCallback(async () => {
    await authApi.logout();
    setState({ status: "anonymous", signedOut: true });
  }, []);

  const value = useMemo(() => ({ state, signIn, signOut, reload }), [state, signIn, signOut, reload]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthContextValue {
  const value = useContext(AuthContext);
  if (!value) throw new Error("useAuth must be used inside <AuthProvider>");
  return value;
}

/** The signed-in user; only for components rendered behind <RequireAuth>. */
export function useCurrentUser(): CurrentUser {
  const { state } = useAuth();
  if (state.status !== "authenticated") throw new Error("useCurrentUser needs a signed-in user");
  return state.user;
}
