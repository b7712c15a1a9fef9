/**
 * One watch stream of the fake API server: chunked JSON lines, one event per line, as
 * `?watch=true` answers — replaying the history after the requested resourceVersion, then
 * following the store, translating changes that move an object in or out of the selection into
 * ADDED and DELETED as the real watch cache does.
 */
import type { ServerResponse } from 'node:http';
import type { ObjectFilter } from './selectors.js';
import { apiVersionOf, type ObjectStore, type ResourceType, type StoreEvent } from './store.js';

/** What one watch asked for. */
export interface WatchRequest {
  readonly type: ResourceType;
  readonly filter: ObjectFilter;
  /** `''` or `'0'`: start with the current objects as ADDED events. */
  readonly resourceVersion: string;
  readonly allowBookmarks: boolean;
  readonly timeoutSeconds: number | undefined;
}

/** An open watch. */
export class WatchStream {
  readonly #response: ServerResponse;
  readonly #request: WatchRequest;
  readonly #store: ObjectStore;
  #unsubscribe: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** A silently dead connection: nothing more is written, nothing ends it. */
  #dead = false;
  readonly #onEnd: () => void;

  constructor(
    response: ServerResponse,
    request: WatchRequest,
    store: ObjectStore,
    onEnd: () => void,
  ) {
    this.#response = response;
    this.#request = request;
    this.#store = store;
    this.#onEnd = onEnd;
  }

  /** Sends the headers, the replay, and follows the store until the watch ends. */
  open(): void {
    const response = this.#response;
    response.on('close', () => {
      this.#cleanup();
      this.#onEnd();
    });
    response.writeHead(200, { 'content-type': 'application/json' });
    response.flushHeaders();
    const { resourceVersion, type, filter, timeoutSeconds } = this.#request;
    if (resourceVersion === '' || resourceVersion === '0') {
      for (const object of this.#store.list(type.resource).filter(filter)) {
        this.#write({ type: 'ADDED', object });
      }
    } else {
      const since = Number(resourceVersion);
      if (!Number.isInteger(since) || since < this.#store.compactedVersion) {
        // The real server answers 200, then one ERROR event with a 410 Status, then ends.
        this.#write({
          type: 'ERROR',
          object: {
            kind: 'Status',
            apiVersion: 'v1',
            metadata: {},
            status: 'Failure',
            message: `too old resource version: ${resourceVersion} (${this.#store.compactedVersion})`,
            reason: 'Expired',
            code: 410,
          },
        });
        this.end();
        return;
      }
      for (const event of this.#store.eventsSince(since)) this.#deliver(event);
    }
    this.#unsubscribe = this.#store.subscribe((event) => {
      this.#deliver(event);
    });
    if (timeoutSeconds !== undefined && timeoutSeconds > 0) {
      this.#timer = setTimeout(() => {
        this.end();
      }, timeoutSeconds * 1000);
    }
  }

  /** Ends the watch cleanly, as the server does when `timeoutSeconds` is up. */
  end(): void {
    this.#cleanup();
    if (!this.#response.writableEnded) this.#response.end();
  }

  /** Breaks the connection (a reset). */
  drop(): void {
    this.#cleanup();
    this.#response.socket?.destroy();
  }

  /** True once {@link goDead} was called. */
  get dead(): boolean {
    return this.#dead;
  }

  /** Goes silent: the connection stays open but nothing more arrives. */
  goDead(): void {
    this.#dead = true;
    this.#cleanup();
  }

  /** Sends a BOOKMARK at the current version, when the client allowed them. */
  bookmark(): void {
    if (!this.#request.allowBookmarks) return;
    this.#write({
      type: 'BOOKMARK',
      object: {
        kind: this.#request.type.kind,
        apiVersion: apiVersionOf(this.#request.type),
        metadata: { resourceVersion: String(this.#store.resourceVersion) },
      },
    });
  }

  #deliver(event: StoreEvent): void {
    const { type, filter } = this.#request;
    if (event.resource !== type.resource) return;
    const before = event.previous !== undefined && filter(event.previous);
    const now = event.type !== 'DELETED' && filter(event.object);
    if (event.type === 'DELETED') {
      if (before) this.#write({ type: 'DELETED', object: event.object });
    } else if (now) {
      this.#write({ type: before ? 'MODIFIED' : 'ADDED', object: event.object });
    } else if (before) {
      // Moved out of the selection: the watcher sees it go.
      this.#write({ type: 'DELETED', object: event.object });
    }
  }

  #write(event: { readonly type: string; readonly object: unknown }): void {
    if (this.#dead || this.#response.writableEnded || this.#response.destroyed) return;
    this.#response.write(`${JSON.stringify(event)}\n`);
  }

  #cleanup(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const unsubscribe = this.#unsubscribe;
    this.#unsubscribe = undefined;
    if (unsubscribe !== undefined) unsubscribe();
  }
}
