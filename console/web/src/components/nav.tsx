/** The console's main navigation: a list of links, the current page marked with aria-current. */
import type { RouteMatch } from '../routes.ts';
import { Link } from './link.tsx';

const PAGES: readonly { href: string; label: string; pages: RouteMatch['page'][] }[] = [
  { href: '/logs', label: 'Request Logs', pages: ['logs'] },
  { href: '/usage', label: 'Usage Analytics', pages: ['usage'] },
  { href: '/experiments', label: 'Experiments', pages: ['experiments'] },
  { href: '/keys', label: 'API keys', pages: ['keys', 'key'] },
  { href: '/routing', label: 'Routing', pages: ['routing', 'routeconfig'] },
  { href: '/mcp-servers', label: 'MCP servers', pages: ['mcp-servers'] },
];

export function Nav({ page }: { page: RouteMatch['page'] }) {
  return (
    <nav aria-label="Console pages">
      <ul>
        {PAGES.map((p) => (
          <li key={p.href}>
            <Link href={p.href} current={p.pages.includes(page)}>
              {p.label}
            </Link>
          </li>
        ))}
      </ul>
    </nav>
  );
}
