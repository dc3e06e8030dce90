/** `sqlite`: the soak's stack process writes its request records to a SQLite store in a temporary directory. */
export const SOAK_STORE_ENV = 'AGENT_ROUTER_SOAK_STORE';
