/**
 * File mode: manifests from one multi-document YAML file or a folder of them, validated, compiled and
 * watched. A change that does not validate or compile is reported and the last good snapshot stays.
 */
import { type FSWatcher, readdirSync, readFileSync, statSync, watch } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { type CompileOptions, compile } from './compile.ts';
import type { LocatedManifest } from './manifests.ts';
import { ConfigError, type ConfigProblem } from './problems.ts';
import type { Snapshot } from './snapshot.ts';
import { validateManifest } from './validate.ts';

export function configFiles(target: string): string[] {
  if (!statSync(target).isDirectory()) return [target];
  return readdirSync(target)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => path.join(target, f));
}

/** One config file as read: its text, and size and mtime to tell a file still being written. */
export interface ConfigFileText {
  file: string;
  text: string;
  size: number;
  mtimeMs: number;
}

/** Reads every config file of the target (throws when one cannot be read, e.g. it was deleted). */
export function readConfigFiles(target: string): ConfigFileText[] {
  return configFiles(target).map((file) => {
    const { size, mtimeMs } = statSync(file);
    return { file, text: readFileSync(file, 'utf8'), size, mtimeMs };
  });
}

/**
 * How a configuration says, on purpose, that it may be empty: the Kubernetes empty List (what
 * `kubectl get … -o yaml` prints for no objects). A file truncated by a partial write cannot turn into one.
 */
const EMPTY_LIST_HINT = 'write an empty List (apiVersion: v1, kind: List, items: [])';

function isList(value: unknown): value is { apiVersion?: unknown; kind: 'List'; items?: unknown } {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'List';
}

/** Parses and validates every document of every file; returns manifests and all problems found. */
export function readManifests(target: string): { manifests: LocatedManifest[]; problems: ConfigProblem[] } {
  return parseManifests(target, readConfigFiles(target));
}

/**
 * Parses and validates files already read. Besides each document's problems: a file with no document
 * at all (zero bytes, only comments or `---`) is refused, and so is a configuration with nothing to
 * serve (no RouteConfig, no InferencePool), unless an empty List declares it. Both are what a file
 * emptied or cut short by a partial write looks like, which would otherwise be applied as valid and
 * answer every key with 401.
 */
export function parseManifests(
  target: string,
  files: readonly Pick<ConfigFileText, 'file' | 'text'>[],
): { manifests: LocatedManifest[]; problems: ConfigProblem[] } {
  const manifests: LocatedManifest[] = [];
  const problems: ConfigProblem[] = [];
  let declaredEmpty = false;
  for (const { file, text } of files) {
    let documents = 0;
    parseAllDocuments(text).forEach((doc, index) => {
      const origin = { source: file, document: index + 1 };
      if (doc.errors.length > 0) {
        documents += 1;
        for (const e of doc.errors) {
          const [line, col] = e.linePos?.[0] ? [e.linePos[0].line, e.linePos[0].col] : [0, 0];
          problems.push({
            ...origin,
            object: 'document',
            path: '',
            message: `YAML syntax error at line ${line}, column ${col}: ${e.message.split('\n')[0]}`,
          });
        }
        return;
      }
      let value: unknown;
      try {
        value = doc.toJS();
      } catch (error) {
        // Aliases are resolved only here (an unknown or runaway alias throws).
        documents += 1;
        problems.push({
          ...origin,
          object: 'document',
          path: '',
          message: `YAML error: ${(error as Error).message}`,
        });
        return;
      }
      if (value === null || value === undefined) return; // an empty document between separators
      documents += 1;
      if (isList(value)) {
        if (value.apiVersion === 'v1' && Array.isArray(value.items) && value.items.length === 0) {
          declaredEmpty = true;
        } else {
          problems.push({
            ...origin,
            object: 'List',
            path: 'items',
            message: `only an empty v1 List (items: []) is read, to declare an empty configuration; write each object as a document of its own`,
          });
        }
        return;
      }
      const result = validateManifest(value, origin);
      problems.push(...result.problems);
      if (result.manifest) manifests.push({ manifest: result.manifest, origin });
    });
    if (documents === 0) {
      problems.push({
        source: file,
        document: 0,
        object: 'file',
        path: '',
        message: `holds no manifests (${text.trim() === '' ? 'it is empty' : 'only comments or "---"'}); a file emptied or cut short while being written is refused, and the last good configuration stays. To configure nothing on purpose, ${EMPTY_LIST_HINT}`,
      });
    }
  }
  if (problems.length === 0 && !declaredEmpty) {
    const serves = manifests.some(
      ({ manifest }) => manifest.kind === 'RouteConfig' || manifest.kind === 'InferencePool',
    );
    if (!serves) {
      const kinds = new Map<string, number>();
      for (const { manifest } of manifests) kinds.set(manifest.kind, (kinds.get(manifest.kind) ?? 0) + 1);
      const held = [...kinds].map(([kind, n]) => `${n} ${kind}`).join(', ');
      problems.push({
        source: target,
        document: 0,
        object: 'configuration',
        path: '',
        message: `defines nothing to serve: no RouteConfig and no InferencePool (it holds ${held}); a file cut short while being written looks like this and is refused. To serve nothing on purpose, ${EMPTY_LIST_HINT}`,
      });
    }
  }
  return { manifests, problems };
}

/** Validates and compiles what parseManifests returned; throws ConfigError naming every problem. */
function compileRead(
  read: { manifests: LocatedManifest[]; problems: ConfigProblem[] },
  options: CompileOptions,
): Snapshot {
  if (read.problems.length > 0) throw new ConfigError(read.problems);
  const result = compile(read.manifests, options);
  if (result.problems.length > 0) throw new ConfigError(result.problems);
  return result.snapshot;
}

/** Loads, validates and compiles; throws ConfigError naming every problem. */
export function loadSnapshot(target: string, options: CompileOptions = {}): Snapshot {
  return compileRead(readManifests(target), options);
}

export interface FileWatchHandlers {
  onSnapshot(snapshot: Snapshot): void;
  onRejected(error: ConfigError | Error): void;
}

export interface WatchTiming {
  /** Quiet time after the last file event before the files are read (default 100ms). */
  debounceMs?: number;
  /**
   * How long the files must then stay exactly as read (size, mtime, content) before they are applied
   * (default 300ms). A shell `>` truncates first and writes after; a slow writer writes in pieces.
   */
  settleMs?: number;
}

/**
 * Watches the file or folder and recompiles on change. Watching the parent folder survives editors
 * that replace the file by renaming over it. A change is applied only once it is stable: read after
 * a quiet period, then read again `settleMs` later with the same result (an fs event in between starts
 * over), so a file caught mid-write, truncated or briefly missing, is not what gets compiled; an atomic
 * replace (editors, kubectl-style writers) settles at once. What is compiled is the second read itself.
 */
export function watchConfig(
  target: string,
  options: CompileOptions,
  handlers: FileWatchHandlers,
  timing: WatchTiming = {},
): { close(): void } {
  const debounceMs = timing.debounceMs ?? 100;
  const settleMs = timing.settleMs ?? 300;
  const dir = statSync(target).isDirectory() ? target : path.dirname(target);
  let version = options.version ?? 1;
  let timer: NodeJS.Timeout | undefined;
  let previous: string | undefined;
  const check = () => {
    timer = undefined;
    let files: ConfigFileText[] | undefined;
    let failure: Error | undefined;
    try {
      files = readConfigFiles(target);
    } catch (error) {
      failure = error as Error;
    }
    const seen = files
      ? JSON.stringify(files.map((f) => [f.file, f.size, f.mtimeMs, f.text]))
      : `error:${failure?.message}`;
    if (seen !== previous) {
      previous = seen;
      timer = setTimeout(check, settleMs);
      return;
    }
    previous = undefined;
    try {
      if (!files) throw failure;
      version += 1;
      handlers.onSnapshot(compileRead(parseManifests(target, files), { ...options, version }));
    } catch (error) {
      handlers.onRejected(error as Error);
    }
  };
  const watcher: FSWatcher = watch(dir, (_event, filename) => {
    if (filename && dir !== target && path.basename(target) !== filename.toString()) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(check, debounceMs);
  });
  return {
    close() {
      if (timer) clearTimeout(timer);
      watcher.close();
    },
  };
}
