/**
 * A real, private PostgreSQL server for a test file: `initdb` into a fresh temp dir, `pg_ctl start`
 * listening on 127.0.0.1 at a free port with its Unix socket in the same temp dir, trust authentication
 * for the one superuser, and `stop()` that shuts it down and deletes the dir.
 *
 * The binaries are the Debian `postgresql` package's (`.ci/run` installs it): `initdb` on PATH, else the
 * newest /usr/lib/postgresql/<version>/bin. PostgreSQL refuses to run as root, so when the tests run as
 * root (CI containers) the dir is handed to the `postgres` system user the package creates, and initdb and
 * pg_ctl run as that user through `runuser -u postgres --`.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';

export interface PostgresServer {
  /** Connection string of the `postgres` database, as the superuser `agent_router`. */
  url: string;
  port: number;
  /** A new empty database on this server; its connection string. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

const USER = 'agent_router';

/** The directory holding initdb, pg_ctl and postgres. */
export function postgresBinDir(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const initdb = path.join(dir, 'initdb');
    if (dir && existsSync(initdb)) return path.dirname(realpathSync(initdb));
  }
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(path.join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : path.join(root, versions[0], 'bin');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function postgresUser(): { uid: number; gid: number } {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new Error(
      'tests run as root and PostgreSQL refuses to: no `postgres` user to run it as (the postgresql package creates one)',
    );
  }
}

export async function startPostgres(
  options: { settings?: Record<string, string> } = {},
): Promise<PostgresServer> {
  const bin = postgresBinDir();
  if (bin === undefined) {
    throw new Error(
      'PostgreSQL not found (initdb on PATH or under /usr/lib/postgresql/*/bin): install the postgresql package, as .ci/run does',
    );
  }
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(path.join(tmpdir(), 'agent-router-pg-'));
  if (asRoot) {
    const { uid, gid } = postgresUser();
    chownSync(dir, uid, gid);
  }
  const run = (tool: string, args: string[]) => {
    const command = asRoot ? 'runuser' : path.join(bin, tool);
    const argv = asRoot ? ['-u', 'postgres', '--', path.join(bin, tool), ...args] : args;
    execFileSync(command, argv, {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LC_ALL: 'C' },
    });
  };
  const data = path.join(dir, 'data');
  const log = path.join(dir, 'postgres.log');
  const port = await freePort();
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    port: String(port),
    unix_socket_directories: dir,
    ...options.settings,
  };
  try {
    run('initdb', ['-D', data, '-U', USER, '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
    // pg_ctl hands -o to a shell: the values here are a temp path and plain numbers and words.
    const postgresOptions = Object.entries(settings)
      .map(([k, v]) => `-c ${k}=${v}`)
      .join(' ');
    run('pg_ctl', ['-D', data, '-l', log, '-w', '-t', '60', '-o', postgresOptions, 'start']);
  } catch (error) {
    const logText = existsSync(log) ? readFileSync(log, 'utf8') : '';
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`PostgreSQL did not start: ${(error as Error).message}\n${stderr}\n${logText}`);
  }
  const url = (database: string) => `postgres://${USER}@127.0.0.1:${port}/${database}`;
  let stopped = false;
  const shutDown = (mode: 'fast' | 'immediate') => {
    if (stopped) return;
    stopped = true;
    process.off('exit', onExit);
    try {
      run('pg_ctl', ['-D', data, '-m', mode, '-w', 'stop']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  // A process that exits before stop() (an uncaught error, process.exit) must not leave a server behind;
  // a signal that kills it outright still can.
  const onExit = () => shutDown('immediate');
  process.once('exit', onExit);
  return {
    url: url('postgres'),
    port,
    async createDatabase(name) {
      const client = new Client({ connectionString: url('postgres') });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return url(name);
    },
    async stop() {
      shutDown('fast');
    },
  };
}
