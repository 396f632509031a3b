/** The `next` parameter carried through /login, kept to paths on this site. */

export function loginPathFor(location: { pathname: string; search: string; hash: string }): string {
  const next = `${location.pathname}${location.search}${location.hash}`;
  if (next === "/" || next.startsWith("/login")) return "/login";
  return `/login?${new URLSearchParams({ next }).toString()}`;
}

/** A same-site path to go to after signing in; "/" for anything else. */
export function safeNextPath(next: string | null | undefined): string {
  if (!next || !next.startsWith("/")) return "/";
  // "//host" and "/\host" would leave the site.
  if (next.startsWith("//") || next.startsWith("/\\")) return "/";
  if (next === "/login" || next.startsWith("/login?") || next.startsWith("/login/")) return "/";
  return next;
}
