/**
 * Client-side routes: the page is chosen from `location.pathname` (console/static.ts answers every
 * extension-less path with index.html, so a reload or a shared link lands on the same page). Links are
 * real `<a href>` elements; a click without a modifier key is turned into `history.pushState`, so the
 * browser's own keyboard and middle-click behaviour stays.
 */
import { useEffect, useState } from 'preact/hooks';

export { matchRoute, type RouteMatch } from './routes.ts';

const CHANGE = 'agent-router:navigate';

export function navigate(href: string): void {
  if (href === location.pathname + location.search) return;
  history.pushState(null, '', href);
  window.dispatchEvent(new Event(CHANGE));
}

/** The current path and query; re-renders on navigation and on the browser's back/forward. */
export function useLocation(): { pathname: string; search: string } {
  const read = () => ({ pathname: location.pathname, search: location.search });
  const [where, setWhere] = useState(read);
  useEffect(() => {
    const update = () => setWhere(read());
    window.addEventListener('popstate', update);
    window.addEventListener(CHANGE, update);
    return () => {
      window.removeEventListener('popstate', update);
      window.removeEventListener(CHANGE, update);
    };
  }, []);
  return where;
}

/** For `onClick` of an `<a>`: same-origin navigation without a reload; modified clicks keep their meaning. */
export function followLink(event: MouseEvent): void {
  if (event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const anchor = (event.currentTarget as HTMLAnchorElement | null) ?? null;
  if (anchor === null || anchor.origin !== location.origin) return;
  event.preventDefault();
  navigate(anchor.pathname + anchor.search);
}
