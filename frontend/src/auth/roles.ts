/** Who sees which area of the workspace. */

export const ROLES = ["researcher", "annotator", "reviewer", "participant"] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_LABELS: Record<Role, string> = {
  researcher: "Researcher",
  annotator: "Annotator",
  reviewer: "Reviewer",
  participant: "Study participant",
};

export type AreaId = "library" | "explanations" | "annotate" | "studies" | "leaderboard" | "meta";

export interface Area {
  id: AreaId;
  label: string;
  path: string;
  roles: readonly Role[];
}

export const AREAS: readonly Area[] = [
  { id: "library", label: "Library", path: "/library", roles: ["researcher", "reviewer"] },
  { id: "explanations", label: "Explanations", path: "/explanations", roles: ["researcher", "reviewer"] },
  { id: "annotate", label: "Annotate", path: "/annotate", roles: ["researcher", "annotator", "reviewer"] },
  { id: "studies", label: "Studies", path: "/studies", roles: ["researcher"] },
  { id: "leaderboard", label: "Leaderboard", path: "/leaderboard", roles: ["researcher"] },
  { id: "meta", label: "Meta-evaluation", path: "/meta-evaluation", roles: ["researcher"] },
];

export function isRole(value: unknown): value is Role {
  return typeof value === "string" && (ROLES as readonly string[]).includes(value);
}

export function roleLabel(role: string): string {
  return isRole(role) ? ROLE_LABELS[role] : role;
}

/** The areas a role may open, in navigation order. Unknown roles get none. */
export function areasForRole(role: string): Area[] {
  return AREAS.filter((area) => isRole(role) && area.roles.includes(role));
}

export function canOpenArea(role: string, id: AreaId): boolean {
  return areasForRole(role).some((area) => area.id === id);
}

/** Participants take part through their study link, not through this workspace. */
export function usesWorkspace(role: string): boolean {
  return isRole(role) && role !== "participant";
}
