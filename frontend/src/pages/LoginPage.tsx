import { useState, type FormEvent } from "react";
import { Navigate, useNavigate, useSearchParams } from "react-router";
import { useAuth } from "../auth/AuthContext";
import { safeNextPath } from "../auth/next";
import { errorMessage } from "../api/errors";
import { useDocumentTitle } from "../components/useDocumentTitle";

export function LoginPage() {
  useDocumentTitle("Sign in");
  const { state, signIn } = useAuth();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const next = safeNextPath(params.get("next"));

  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [submitting, setSubmitting] = useState(false);

  if (state.status === "authenticated" && !submitting) {
    return <Navigate to={next} replace />;
  }

  async function handleSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (!username.trim() || !password) {
      setError("Enter your username and password.");
      return;
    }
    setSubmitting(true);
    setError(null);
    try {
      await signIn(username.trim(), password);
      navigate(next, { replace: true });
    } catch (err) {
      setError(errorMessage(err));
      setSubmitting(false);
    }
  }

  return (
    <div className="login">
      <div className="login__panel card">
        <div className="login__brand">
          <img src={`${import.meta.env.BASE_URL}favicon.svg`} alt="" width={40} height={40} />
          <div>
            <p className="login__name">WhereWhen</p>
            <p className="muted small">Space-time explanations of video models</p>
          </div>
        </div>
        <h1>Sign in</h1>
        <form onSubmit={handleSubmit} noValidate aria-describedby={error ? "login-error" : undefined} data-testid="login-form">
          {error && (
            <div id="login-error" className="form-error" role="alert" data-testid="login-error">
              {error}
            </div>
          )}
          <div className="field">
            <label htmlFor="login-username">Username</label>
            <input
              id="login-username"
              name="username"
              type="text"
              autoComplete="username"
              autoCapitalize="none"
              spellCheck={false}
              required
              autoFocus
              value={username}
              onChange={(e) => setUsername(e.target.value)}
              aria-invalid={error ? true : undefined}
              data-testid="login-username"
            />
          </div>
          <div className="field">
            <label htmlFor="login-password">Password</label>
            <input
              id="login-password"
              name="password"
              type="password"
              autoComplete="current-password"
              required
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              aria-invalid={error ? true : undefined}
              data-testid="login-password"
            />
          </div>
          <button type="submit" className="button button--primary button--block" disabled={submitting} aria-busy={submitting} data-testid="login-submit">
            Sign in
          </button>
        </form>
      </div>
    </div>
  );
}
