/**
 * File mode's ConfigWriter: edits the YAML files in place, through the `yaml` package's Document API,
 * so everything the edit does not touch stays as the person wrote it — comments, key order, flow or
 * block style, quoting, blank lines. Only the nodes whose value changes are replaced; a document the
 * edit does not touch keeps its bytes. The whole resulting configuration goes through the loader's own
 * parse, validation and compile (file-source.ts) before anything is written; then each changed file is
 * replaced atomically (a temporary file in the same folder, fsynced, renamed over it), and the file
 * watch applies it like any other edit. An invalid edit leaves the files untouched.
 */

import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { type Document, isMap, isScalar, isSeq, type Node, parseAllDocuments, stringify } from 'yaml';
import { type CompileOptions, compile } from './compile.ts';
import { parseManifests, readConfigFiles } from './file-source.ts';
import { diffLines, splitLines, unifiedDiff } from './line-diff.ts';
import type { ConfigProblem } from './problems.ts';
import {
  type ConfigWriter,
  type EditOutcome,
  type Json,
  type ObjectRef,
  type PlannedEdit,
  refOf,
  type StoredConfig,
  type StoredObject,
  sameRef,
} from './writer.ts';

/** No folding of long lines: a flow map on one line stays on one line. */
const TO_STRING = { lineWidth: 0 } as const;

interface LoadedFile {
  file: string;
  text: string;
  docs: Document.Parsed[];
}

interface Located extends StoredObject {
  file: number;
  doc: number;
}

function load(target: string): LoadedFile[] {
  return readConfigFiles(target).map(({ file, text }) => ({ file, text, docs: parseAllDocuments(text) }));
}

function locate(files: readonly LoadedFile[]): Located[] {
  const objects: Located[] = [];
  files.forEach((f, file) => {
    f.docs.forEach((d, doc) => {
      if (d.errors.length > 0) return;
      let value: unknown;
      try {
        value = d.toJS();
      } catch {
        return; // a bad alias: the loader reports it
      }
      const ref = refOf(value);
      if (ref) objects.push({ ...ref, object: value as Json, file, doc });
    });
  });
  return objects;
}

export function fileConfigWriter(target: string, compileOptions: CompileOptions = {}): ConfigWriter {
  // Edits run one at a time: each plans against what the previous one wrote. An edit is synchronous
  // from read to rename, so writers of one file in this process (the console's, the rollout
  // controller's) cannot interleave either. A change made by hand between a page's read and its save
  // is caught by the plan's version check; one in the instant between this read and the rename is not
  // (a file system has no compare-and-swap).
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(run: () => T): Promise<T> => {
    const next = queue.then(run);
    queue = next.catch(() => {});
    return next;
  };

  return {
    mode: 'file',
    read: () => serial((): StoredConfig => ({ objects: locate(load(target)) })),
    edit: <T>(plan: (current: StoredConfig) => PlannedEdit<T>, options: { dryRun?: boolean } = {}) =>
      serial(() => editFiles(target, compileOptions, plan, options.dryRun === true)),
  };
}

function editFiles<T>(
  target: string,
  compileOptions: CompileOptions,
  plan: (current: StoredConfig) => PlannedEdit<T>,
  dryRun: boolean,
): EditOutcome<T> {
  const files = load(target);
  const objects = locate(files);
  const { changes, result } = plan({ objects });

  const replaced = new Map<number, Set<number>>(); // file → documents edited
  const appended = new Map<number, string[]>();
  const find = (ref: ObjectRef) => {
    const found = objects.find((o) => sameRef(o, ref));
    if (!found) throw new Error(`${ref.kind} ${ref.namespace}/${ref.name} is not in ${target}`);
    return found;
  };
  for (const change of changes) {
    if (change.op === 'replace') {
      const at = find(change.target);
      const doc = files[at.file]!.docs[at.doc]!;
      doc.contents = reconcile(doc, doc.contents, change.object) as typeof doc.contents;
      replaced.set(at.file, (replaced.get(at.file) ?? new Set()).add(at.doc));
    } else {
      const file = change.near ? find(change.near).file : 0;
      appended.set(file, [...(appended.get(file) ?? []), `---\n${stringify(change.object, TO_STRING)}`]);
    }
  }

  const next = files.map((f) => ({ file: f.file, text: f.text }));
  const diffs: string[] = [];
  for (const index of new Set([...replaced.keys(), ...appended.keys()])) {
    const f = files[index]!;
    const edited = replaced.get(index) ?? new Set<number>();
    const pristine = parseAllDocuments(f.text);
    const slices = documentSlices(f.text, f.docs);
    let text = '';
    let line = 0;
    slices.forEach((slice, i) => {
      if (!edited.has(i)) {
        text += slice;
      } else {
        const after = keepUnchangedLines(
          slice,
          pristine[i]!.toString(TO_STRING),
          f.docs[i]!.toString(TO_STRING),
        );
        const name = path.basename(f.file);
        diffs.push(
          unifiedDiff(splitLines(slice), splitLines(after), {
            fromFile: `a/${name}`,
            toFile: `b/${name}`,
            lineOffset: line,
          }),
        );
        text += after;
      }
      line += splitLines(slice).length;
    });
    for (const added of appended.get(index) ?? [])
      text += (text === '' || text.endsWith('\n') ? '' : '\n') + added;
    next[index]!.text = text;
  }

  const read = parseManifests(target, next);
  let problems: ConfigProblem[] = read.problems;
  if (problems.length === 0) problems = compile(read.manifests, compileOptions).problems;
  const diff = diffs.join('');
  if (problems.length > 0 || dryRun) return { result, problems, diff, written: false };
  for (const [i, f] of next.entries()) if (f.text !== files[i]!.text) writeAtomically(f.file, f.text);
  return { result, problems, diff, written: true };
}

/**
 * The text of each document, covering the whole file: the first also holds what comes before it (a
 * header comment belongs to it), each runs to where the next starts.
 */
function documentSlices(text: string, docs: readonly Document.Parsed[]): string[] {
  return docs.map((d, i) =>
    text.slice(i === 0 ? 0 : d.range[0], i + 1 < docs.length ? docs[i + 1]!.range[0] : text.length),
  );
}

/**
 * The edited document's text with every line the edit did not change taken from the original: the
 * library's printing of a document can differ from the author's in spacing (`[a, b]` becomes `[ a, b ]`),
 * so the lines of its printing of the *unedited* document stand for the author's lines one for one,
 * and the diff from that printing to the edited one says which lines are new. When the printing does
 * not line up one for one, the edited printing is used as it is.
 */
function keepUnchangedLines(original: string, printedBefore: string, printedAfter: string): string {
  const source = splitLines(original);
  const before = splitLines(printedBefore);
  const after = splitLines(printedAfter);
  if (source.length !== before.length) return printedAfter;
  const out: string[] = [];
  for (const op of diffLines(before, after)) {
    if (op.op === 'same') out.push(source[op.a]!);
    else if (op.op === 'add') out.push(after[op.b]!);
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}

const isPlainObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The node for `value`, reusing `node` (and its comments and style) wherever the value is unchanged. */
function reconcile(doc: Document, node: unknown, value: unknown): unknown {
  if (isPlainObject(value) && isMap(node)) {
    const keys = Object.keys(value);
    node.items = node.items.filter((pair) => keys.includes(keyText(pair.key)));
    for (const key of keys) {
      const pair = node.items.find((p) => keyText(p.key) === key);
      if (pair) pair.value = reconcile(doc, pair.value, value[key]);
      else node.items.push(doc.createPair(key, value[key]));
    }
    return node;
  }
  if (Array.isArray(value) && isSeq(node)) {
    const old = [...node.items];
    const used = new Set<number>();
    node.items = value.map((item, i) => {
      // Named items (route entries) keep their node, and the comment above it, when others move.
      const name = isPlainObject(item) && typeof item.name === 'string' ? item.name : undefined;
      let match =
        name !== undefined ? old.findIndex((n, j) => !used.has(j) && isMap(n) && n.get('name') === name) : -1;
      if (match < 0 && name === undefined && i < old.length && !used.has(i)) match = i;
      if (match < 0) return doc.createNode(item);
      used.add(match);
      return reconcile(doc, old[match], item);
    });
    // A comment above a removed item heads what follows it as much as the item itself (a section
    // title over a group of entries): it moves to the next item that stays, unless that has its own.
    old.forEach((removed, j) => {
      const comment = (removed as Partial<Node> | null)?.commentBefore;
      if (used.has(j) || !comment) return;
      const heir = old.slice(j + 1).find((_, k) => used.has(j + 1 + k)) as Node | undefined;
      if (heir && !heir.commentBefore) heir.commentBefore = comment;
    });
    return node;
  }
  if (isScalar(node) && !isPlainObject(value) && !Array.isArray(value)) {
    if (node.value === value) return node;
    if (typeof node.value === typeof value && value !== null) {
      node.value = value;
      return node;
    }
  }
  const fresh = doc.createNode(value) as Node;
  const previous = node as Partial<Node> | null;
  if (previous?.commentBefore) fresh.commentBefore = previous.commentBefore;
  if (previous?.comment) fresh.comment = previous.comment;
  return fresh;
}

function keyText(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}

/** Replaces `file` in one step: readers see the old text or the new, never a part. */
function writeAtomically(file: string, text: string): void {
  const dir = path.dirname(file);
  // Not a .yaml name, so a folder target never reads it as configuration.
  const temp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const mode = statSync(file).mode & 0o777;
  const fd = openSync(temp, 'wx', mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    unlinkSync(temp);
    throw error;
  }
  closeSync(fd);
  try {
    renameSync(temp, file);
  } catch (error) {
    unlinkSync(temp);
    throw error;
  }
}
