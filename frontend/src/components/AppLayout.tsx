import { useState } from "react";
import { NavLink, Outlet } from "react-router";
import { useAuth, useCurrentUser } from "../auth/AuthContext";
import { areasForRole, roleLabel } from "../auth/roles";
import { errorMessage } from "../api/errors";

export function AppLayout() {
  const user = useCurrentUser();
  const { signOut } = useAuth();
  const [signingOut, setSigningOut] = useState(false);
  const [signOutError, setSignOutError] = useState<string | null>(null);
  const areas = areasForRole(user.role);

  async function handleSignOut() {
    setSigningOut(true);
    setSignOutError(null);
    try {
      // The route guard then sends the page to /login.
      await signOut();
    } catch (error) {
      setSignOutError(`Could not sign out. ${errorMessage(error)}`);
      setSigningOut(false);
    }
  }

  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to main content
      </a>
      <header className="topbar">
        <NavLink to="/" className="brand" aria-label="WhereWhen home">
          <img src={`${import.meta.env.BASE_URL}favicon.svg`} alt="" width={28} height={28} />
          <span>WhereWhen</span>
        </NavLink>
        <div className="user-menu" data-testid="user-menu">
          <span className="user-menu__who">
            <span className="user-menu__name" data-testid="user-menu-username">
              {user.username}
            </span>
            <span className="badge" data-testid="user-menu-role">
              {roleLabel(user.role)}
            </span>
          </span>
          <button
            type="button"
            className="button button--ghost"
            onClick={handleSignOut}
            disabled={signingOut}
            data-testid="sign-out"
          >
            Sign out
          </button>
        </div>
      </header>
      {signOutError && (
        <div className="banner banner--error" role="alert" data-testid="sign-out-error">
          {signOutError}
        </div>
      )}
      <div className="shell__body">
        <nav className="sidenav" aria-label="Main">
          <ul>
            <li>
              <NavLink to="/" end data-testid="nav-dashboard">
                Dashboard
              </NavLink>
            </li>
            {areas.map((area) => (
              <li key={area.id}>
                <NavLink to={area.path} data-testid={`nav-${area.id}`}>
                  {area.label}
                </NavLink>
              </li>
            ))}
          </ul>
        </nav>
        <main id="main" className="content" tabIndex={-1}>
          <Outlet />
        </main>
      </div>
    </div>
  );
}
