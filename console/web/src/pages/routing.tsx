/** Routing: the RouteConfigs (GET /api/v1/routeconfigs), each with its Active state and logical names. */
import { get, segment } from '../api/client.ts';
import type { RouteConfigSummary } from '../api/types.ts';
import { ErrorBox } from '../components/error-box.tsx';
import { Link } from '../components/link.tsx';
import { useApi } from '../components/use-api.ts';

export function RoutingPage() {
  const list = useApi(() => get<{ data: RouteConfigSummary[] }>('routeconfigs'), []);
  return (
    <main id="main" aria-labelledby="page-title">
      <h1 id="page-title">Routing configurations</h1>
      <ErrorBox error={list.error} />
      <div class="table-wrap">
        <table>
          <caption class="visually-hidden">RouteConfigs</caption>
          <thead>
            <tr>
              <th scope="col">RouteConfig</th>
              <th scope="col">Active</th>
              <th scope="col">Logical models</th>
            </tr>
          </thead>
          <tbody>
            {(list.data?.data ?? []).map((rc) => (
              <tr key={rc.name}>
                <th scope="row">
                  <Link href={`/routing/${segment(rc.name)}`}>{rc.name}</Link>
                </th>
                <td>{rc.active ? 'active' : 'inactive'}</td>
                <td>{rc.logicalModels.join(', ')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </main>
  );
}
