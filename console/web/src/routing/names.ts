/**
 * RouteConfigs are identified as `namespace/name` in records and experiments (config/snapshot.ts ids)
 * and by name in the configuration API's paths (`/api/v1/routeconfigs/{name}`).
 */
export function routeConfigName(id: string): string {
  const slash = id.lastIndexOf('/');
  return slash < 0 ? id : id.slice(slash + 1);
}
