import type { ReactNode } from "react";
import { useCurrentUser } from "./AuthContext";
import { canOpenArea, roleLabel, type AreaId, AREAS } from "./roles";
import { useDocumentTitle } from "../components/useDocumentTitle";

interface RequireAreaProps {
  area: AreaId;
  children: ReactNode;
}

/** Shows the area only to roles that may open it. */
export function RequireArea({ area, children }: RequireAreaProps) {
  const user = useCurrentUser();
  if (canOpenArea(user.role, area)) return <>{children}</>;
  return <NotPermitted area={area} role={user.role} />;
}

function NotPermitted({ area, role }: { area: AreaId; role: string }) {
  const label = AREAS.find((a) => a.id === area)?.label ?? area;
  useDocumentTitle("Not available");
  return (
    <section className="page" data-testid="not-permitted">
      <h1>{label}</h1>
      <div className="notice notice--warning">
        <p>
          <strong>{label}</strong> is not available to your role ({roleLabel(role)}). Ask a researcher on
          your team if you need access.
        </p>
      </div>
    </section>
  );
}
