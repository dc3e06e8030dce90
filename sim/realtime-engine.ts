/**
 * Runs an `Engine` on the wall clock: engine time is milliseconds since this object was created, and one
 * timer per engine wakes it when its next step ends. Events go to the listener registered with each request.
 */
import { performance } from 'node:perf_hooks';
import type { EngineConfig } from './engine/config.ts';
import { Engine, type EngineEvent, type EngineRequest, type EngineSnapshot } from './engine/engine.ts';

export interface EngineListener {
  onEngineEvent(event: EngineEvent): void;
}

export class RealTimeEngine {
  private readonly engine: Engine;
  private readonly origin = performance.now();
  private readonly listeners = new Map<string, EngineListener>();
  private timer: NodeJS.Timeout | undefined = undefined;
  private timerAtMs: number | undefined = undefined;
  private pumping = false;
  private pumpAgain = false;
  private closed = false;
  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.timerAtMs = undefined;
    this.pump();
  };

  constructor(config: Partial<EngineConfig>) {
    this.engine = new Engine(config);
  }

  get config(): EngineConfig {
    return this.engine.config;
  }

  get maxModelLen(): number {
    return this.engine.maxModelLen;
  }

  /** Engine time now: milliseconds since this engine was created. */
  now(): number {
    return performance.now() - this.origin;
  }

  /**
   * Submits a request; its events go to `listener`, possibly before this returns when a step costs
   * nothing. Throws the engine's RangeError for a request that can never fit.
   */
  submit(request: EngineRequest, listener: EngineListener): void {
    this.engine.submit(request, this.now());
    this.listeners.set(request.id, listener);
    this.pump();
  }

  /** Drops a request; its listener hears nothing more. */
  cancel(id: string): void {
    if (!this.listeners.delete(id)) return;
    this.engine.cancel(id, this.now());
    this.pump();
  }

  snapshot(): EngineSnapshot {
    return this.engine.snapshot();
  }

  /** Stops the timer; requests still held get no more events. */
  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.listeners.clear();
  }

  /** Advances to now, delivers the events, and sets the timer for the next step. Never re-entered. */
  private pump(): void {
    if (this.closed) return;
    if (this.pumping) {
      // A listener submitted or cancelled: the outer loop goes round once more.
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        for (const event of this.engine.advance(this.now())) {
          const listener = this.listeners.get(event.requestId);
          if (listener === undefined) continue;
          if (event.type === 'finished') this.listeners.delete(event.requestId);
          listener.onEngineEvent(event);
        }
      } while (this.pumpAgain);
    } finally {
      this.pumping = false;
      this.arm();
    }
  }

  private arm(): void {
    if (this.closed) return;
    const next = this.engine.nextEventAt();
    if (next === this.timerAtMs) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAtMs = next;
    if (next === undefined) return;
    // Timers have millisecond resolution and may fire a little early; pump then re-arms for the rest.
    this.timer = setTimeout(this.onTimer, Math.max(1, Math.ceil(next - this.now())));
  }
}
