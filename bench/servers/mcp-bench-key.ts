/**
 * The gateway key of the MCP benchmark, in a module of its own: the driver (bench/mcp-tools-call.ts) must
 * not import the child process's module (bench/servers/mcp-child.ts), whose top level starts a server.
 */
export const BENCH_KEY = 'sk-bench-mcp-0001';
