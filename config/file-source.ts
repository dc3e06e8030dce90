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

/** Parses and validates every document of every file; returns manifests and all problems found. */
export function readManifests(target: string): { manifests: LocatedManifest[]; problems: ConfigProblem[] } {
  const manifests: LocatedManifest[] = [];
  const problems: ConfigProblem[] = [];
  for (const file of configFiles(target)) {
    const text = readFileSync(file, 'utf8');
    parseAllDocuments(text).forEach((doc, index) => {
      const origin = { source: file, document: index + 1 };
      if (doc.errors.length > 0) {
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
        problems.push({
          ...origin,
          object: 'document',
          path: '',
          message: `YAML error: ${(error as Error).message}`,
        });
        return;
      }
      if (value === null || value === undefined) return; // an empty document between separators
      const result = validateManifest(value, origin);
      problems.push(...result.problems);
      if (result.manifest) manifests.push({ manifest: result.manifest, origin });
    });
  }
  return { manifests, problems };
}

/** Loads, validates and compiles; throws ConfigError naming every problem. */
export function loadSnapshot(target: string, options: CompileOptions = {}): Snapshot {
  const { manifests, problems } = readManifests(target);
  if (problems.length > 0) throw new ConfigError(problems);
  const result = compile(manifests, options);
  if (result.problems.length > 0) throw new ConfigError(result.problems);
  return result.snapshot;
}

export interface FileWatchHandlers {
  onSnapshot(snapshot: Snapshot): void;
  onRejected(error: ConfigError | Error): void;
}

/**
 * Watches the file or folder and recompiles on change (debounced, since editors write in bursts).
 * Watching the parent folder survives editors that replace the file by renaming over it.
 */
export function watchConfig(
  target: string,
  options: CompileOptions,
  handlers: FileWatchHandlers,
): { close(): void } {
  const dir = statSync(target).isDirectory() ? target : path.dirname(target);
  let version = options.version ?? 1;
  let timer: NodeJS.Timeout | undefined;
  const reload = () => {
    timer = undefined;
    try {
      version += 1;
      handlers.onSnapshot(loadSnapshot(target, { ...options, version }));
    } catch (error) {
      handlers.onRejected(error as Error);
    }
  };
  const watcher: FSWatcher = watch(dir, (_event, filename) => {
    if (filename && dir !== target && path.basename(target) !== filename.toString()) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(reload, 100);
  });
  return {
    close() {
      if (timer) clearTimeout(timer);
      watcher.close();
    },
  };
}
