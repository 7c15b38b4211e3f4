// A minimal history router: the path is the state. Links call navigate();
// the back button fires popstate; components re-render through useLocation.

import { useEffect, useState } from "preact/hooks";

type Listener = () => void;
const listeners = new Set<Listener>();

export function navigate(url: string, replace = false): void {
  if (url === location.pathname + location.search) return;
  const samePage = url.split("?")[0] === location.pathname;
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  // A new page starts at the top; a changed view of the same page stays put.
  if (!samePage) window.scrollTo(0, 0);
  listeners.forEach((l) => l());
}

window.addEventListener("popstate", () => listeners.forEach((l) => l()));

export interface Loc {
  path: string;
  query: URLSearchParams;
}

export function useLocation(): Loc {
  const [, setTick] = useState(0);
  useEffect(() => {
    const l = () => setTick((t) => t + 1);
    listeners.add(l);
    return () => {
      listeners.delete(l);
    };
  }, []);
  return { path: location.pathname, query: new URLSearchParams(location.search) };
}

// Updates some query parameters of the current URL (null removes one).
export function setQuery(changes: Record<string, string | null>, replace = false): void {
  const q = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(changes)) {
    if (v === null || v === "") q.delete(k);
    else q.set(k, v);
  }
  const s = q.toString();
  navigate(location.pathname + (s ? "?" + s : ""), replace);
}

// Matches "/project/:projectId/traces/:traceId" style patterns.
export function match(pattern: string, path: string): Record<string, string> | null {
  const ps = pattern.split("/").filter(Boolean);
  const xs = path.split("/").filter(Boolean);
  if (ps.length !== xs.length) return null;
  const out: Record<string, string> = {};
  for (let i = 0; i < ps.length; i++) {
    const p = ps[i];
    if (p.startsWith(":")) out[p.slice(1)] = decodeURIComponent(xs[i]);
    else if (p !== xs[i]) return null;
  }
  return out;
}

// Click handler for <a href> that routes in-app (keeps ctrl/cmd-click).
export function linkClick(e: MouseEvent): void {
  const a = (e.currentTarget as HTMLElement).closest("a");
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
  const href = a.getAttribute("href");
  if (!href || !href.startsWith("/")) return;
  e.preventDefault();
  navigate(href);
}
