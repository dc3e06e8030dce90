import type { Snapshot } from './snapshot.ts';

/** Holds the snapshot in force. Readers take `current` once per request; a swap is one assignment. */
export class SnapshotStore {
  #current: Snapshot;
  readonly #listeners = new Set<(snapshot: Snapshot) => void>();

  constructor(initial: Snapshot) {
    this.#current = initial;
  }

  get current(): Snapshot {
    return this.#current;
  }

  replace(next: Snapshot): void {
    this.#current = next;
    for (const listener of this.#listeners) listener(next);
  }

  onChange(listener: (snapshot: Snapshot) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
