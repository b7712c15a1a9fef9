/**
 * A fake kube-apiserver for unit tests of meshca's Kubernetes parts: an in-process HTTPS server on
 * 127.0.0.1:0 that speaks the subset those parts use — list (`limit`/`continue`, field and label
 * selectors), watch (chunked JSON lines, resume from a resourceVersion, bookmarks,
 * `timeoutSeconds`, 410 for compacted versions), GET/POST/PUT/DELETE of namespaces, ConfigMaps,
 * Secrets, pods and Leases with 409 on conflicts, and `/version` — behind a bearer token, with a
 * kubeconfig the real {@link KubeClient} and client-node's Watch load unchanged.
 *
 * Test knobs: stop answering ({@link hang}), break or end every watch, inject errors, and read
 * the log of every request. It is a test double of our own logic: the integration tests against
 * the real kube-apiserver remain the proof of the real integration.
 *
 * Not modelled: RBAC and admission, schema validation and defaulting, PATCH, finalizers and
 * graceful deletion (but a deleted namespace is `Terminating` until
 * `store.finishNamespaceDeletion`), server-initiated bookmarks (sent on {@link bookmark} only),
 * a default watch timeout, and every resource but namespaces, ConfigMaps, Secrets, pods and Leases.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeClient } from '../../../src/kube/index.js';
import { ListPager, parseRoute, readBody, status, type Route } from './http.js';
import { objectFilter } from './selectors.js';
import { ObjectStore, StoreError, type FakeObject } from './store.js';
import { createServingTls, writeKubeconfig } from './tls.js';
import { WatchStream } from './watch.js';

/** One request as the server saw it arrive. */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly watch: boolean;
  /** `performance.now()` at arrival. */
  readonly atMs: number;
  /** The status answered (a watch: 200 once opened); undefined while unanswered. */
  status: number | undefined;
}

/** Which requests an injected failure applies to. */
export interface RequestMatcher {
  readonly method?: string;
  /** A substring of, or a pattern for, the path (without the query). */
  readonly path?: string | RegExp;
  /** Only watches (true) or only non-watch requests (false). */
  readonly watch?: boolean;
  /** Any other condition (on the query, say). */
  readonly when?: (request: RecordedRequest) => boolean;
}

/** An injected failure. */
export interface FailureRule extends RequestMatcher {
  readonly status: number;
  readonly message?: string;
  /** How many requests fail; every matching one when absent. */
  readonly times?: number;
}

/** Options of {@link FakeKubeApiServer.start}. */
export interface FakeKubeApiServerOptions {
  /** The bearer token the server accepts (and the kubeconfig carries). */
  readonly token?: string;
}

interface Parked {
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
  readonly record: RecordedRequest;
}

/** A running fake API server. */
export class FakeKubeApiServer {
  readonly store = new ObjectStore();
  readonly requests: RecordedRequest[] = [];
  readonly url: string;
  readonly kubeconfigPath: string;
  readonly #server: Server;
  readonly #token: string;
  readonly #dir: string;
  readonly #sockets = new Set<Socket>();
  readonly #watches = new Set<WatchStream>();
  readonly #failures: { rule: FailureRule; left: number }[] = [];
  readonly #clients: KubeClient[] = [];
  readonly #pager: ListPager;
  #parked: Parked[] = [];
  #hung = false;

  private constructor(server: Server, dir: string, url: string, kubeconfig: string, token: string) {
    this.#server = server;
    this.#dir = dir;
    this.url = url;
    this.kubeconfigPath = kubeconfig;
    this.#token = token;
    this.#pager = new ListPager(this.store);
    server.on('secureConnection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      this.#arrive(request, response);
    });
  }

  /** Starts a server on 127.0.0.1 with a fresh CA and writes its kubeconfig. */
  static async start(options: FakeKubeApiServerOptions = {}): Promise<FakeKubeApiServer> {
    const tls = await createServingTls();
    const server = createServer({ cert: tls.certPem, key: tls.keyPem });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        resolve();
      });
    });
    const { port } = server.address() as AddressInfo;
    const url = `https://127.0.0.1:${port}`;
    const dir = mkdtempSync(join(tmpdir(), 'meshca-fake-kube-'));
    const token = options.token ?? 'fake-admin-token';
    const kubeconfig = writeKubeconfig(dir, url, tls.rootPem, token);
    return new FakeKubeApiServer(server, dir, url, kubeconfig, token);
  }

  /** A real {@link KubeClient} for this server; closed with the server. */
  client(): KubeClient {
    const client = new KubeClient({
      connection: { mode: 'kubeconfig', path: this.kubeconfigPath },
      maxSockets: 8,
    });
    this.#clients.push(client);
    return client;
  }

  /** Requests matching `matcher`, in arrival order. */
  requestsMatching(matcher: RequestMatcher): RecordedRequest[] {
    return this.requests.filter((record) => matches(matcher, record));
  }

  /** Watches open now (a silent, dead one included until its client hangs up). */
  get openWatches(): number {
    return this.#watches.size;
  }

  /**
   * Stops answering: new requests get no answer (not even headers) and open watches go silent
   * without ending, as behind a network partition. {@link resume} answers the waiting requests.
   */
  hang(): void {
    this.#hung = true;
    for (const watch of this.#watches) watch.goDead();
  }

  /** Answers again; requests that arrived meanwhile (still connected) are served now. */
  resume(): void {
    this.#hung = false;
    for (const watch of this.#watches) if (watch.dead) watch.drop();
    const parked = this.#parked;
    this.#parked = [];
    for (const { request, response, record } of parked) {
      if (!response.destroyed) void this.#serve(request, response, record);
    }
  }

  /** Breaks every watch connection (a reset, no clean end). */
  dropWatches(): void {
    for (const watch of this.#watches) watch.drop();
  }

  /** Ends every watch cleanly, as when `timeoutSeconds` is up. */
  endWatches(): void {
    for (const watch of this.#watches) watch.end();
  }

  /** Sends a BOOKMARK to every watch that allows them. */
  bookmark(): void {
    for (const watch of this.#watches) watch.bookmark();
  }

  /** Makes matching requests fail with `rule.status`; returns a function that stops it. */
  fail(rule: FailureRule): () => void {
    const entry = { rule, left: rule.times ?? Infinity };
    this.#failures.push(entry);
    return () => {
      const index = this.#failures.indexOf(entry);
      if (index >= 0) this.#failures.splice(index, 1);
    };
  }

  /** Stops the server: closes its clients, every connection, and removes the kubeconfig. */
  async close(): Promise<void> {
    for (const client of this.#clients.splice(0)) await client.close();
    this.#hung = false;
    this.#parked = [];
    for (const watch of this.#watches) watch.drop();
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => {
      this.#server.close(() => {
        resolve();
      });
    });
    rmSync(this.#dir, { recursive: true, force: true });
  }

  #arrive(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', this.url);
    const record: RecordedRequest = {
      method: request.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      watch: ['true', '1'].includes(url.searchParams.get('watch') ?? ''),
      atMs: performance.now(),
      status: undefined,
    };
    this.requests.push(record);
    if (this.#hung) {
      this.#parked.push({ request, response, record });
      return;
    }
    void this.#serve(request, response, record);
  }

  async #serve(
    request: IncomingMessage,
    response: ServerResponse,
    record: RecordedRequest,
  ): Promise<void> {
    const answer = (status: number, body: unknown): void => {
      record.status = status;
      if (response.destroyed) return;
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    try {
      if (request.headers.authorization !== `Bearer ${this.#token}`) {
        answer(401, status(401, 'Unauthorized', 'Unauthorized'));
        return;
      }
      const failure = this.#failures.find(({ rule }) => matches(rule, record));
      if (failure !== undefined) {
        failure.left--;
        if (failure.left <= 0) this.#failures.splice(this.#failures.indexOf(failure), 1);
        const message = failure.rule.message ?? `injected failure ${failure.rule.status}`;
        answer(failure.rule.status, status(failure.rule.status, 'InternalError', message));
        return;
      }
      const body = await readBody(request);
      if (record.path === '/version') {
        answer(200, { major: '1', minor: '20', gitVersion: 'v1.20.0-fake', platform: 'fake' });
        return;
      }
      const route = parseRoute(record.path);
      if (route === undefined) {
        answer(404, status(404, 'NotFound', 'the server could not find the requested resource'));
        return;
      }
      if (record.watch && record.method === 'GET' && route.name === undefined) {
        this.#watch(response, record, route);
        return;
      }
      const result = this.#rest(record, route, body);
      answer(result.status, result.body);
    } catch (error) {
      if (error instanceof StoreError) {
        answer(error.status, status(error.status, error.reason, error.message));
      } else {
        answer(400, status(400, 'BadRequest', (error as Error).message));
      }
    }
  }

  #rest(
    record: RecordedRequest,
    route: Route,
    body: FakeObject | undefined,
  ): { status: number; body: unknown } {
    const { type, namespace, name } = route;
    const withPathNamespace = (object: FakeObject | undefined): FakeObject => ({
      ...(object ?? {}),
      metadata: { ...(object?.metadata ?? {}), ...(namespace === undefined ? {} : { namespace }) },
    });
    switch (record.method) {
      case 'GET': {
        if (name === undefined) return { status: 200, body: this.#pager.page(route, record.query) };
        const object = this.store.get(type.resource, namespace, name);
        if (object === undefined) {
          throw new StoreError(404, 'NotFound', `${type.resource} "${name}" not found`);
        }
        return { status: 200, body: object };
      }
      case 'POST':
        if (name !== undefined) break;
        return { status: 201, body: this.store.create(type.resource, withPathNamespace(body)) };
      case 'PUT': {
        if (name === undefined) break;
        const object = withPathNamespace(body);
        if (object.metadata?.name !== name) {
          throw new StoreError(400, 'BadRequest', 'the name of the object does not match the URL');
        }
        return { status: 200, body: this.store.update(type.resource, object) };
      }
      case 'DELETE':
        if (name === undefined) break;
        this.store.delete(type.resource, namespace, name);
        return {
          status: 200,
          body: {
            ...status(200, '', ''),
            status: 'Success',
            details: { name, kind: type.resource },
          },
        };
      default:
        break;
    }
    return { status: 405, body: status(405, 'MethodNotAllowed', 'method not allowed') };
  }

  #watch(response: ServerResponse, record: RecordedRequest, route: Route): void {
    const timeout = record.query['timeoutSeconds'];
    const stream = new WatchStream(
      response,
      {
        type: route.type,
        filter: objectFilter(
          route.namespace,
          record.query['fieldSelector'] ?? null,
          record.query['labelSelector'] ?? null,
        ),
        resourceVersion: record.query['resourceVersion'] ?? '',
        allowBookmarks: record.query['allowWatchBookmarks'] === 'true',
        timeoutSeconds: timeout === undefined ? undefined : Number(timeout),
      },
      this.store,
      () => this.#watches.delete(stream),
    );
    this.#watches.add(stream);
    record.status = 200;
    stream.open();
  }
}

function matches(matcher: RequestMatcher, record: RecordedRequest): boolean {
  if (matcher.method !== undefined && matcher.method !== record.method) return false;
  if (matcher.watch !== undefined && matcher.watch !== record.watch) return false;
  if (matcher.when !== undefined && !matcher.when(record)) return false;
  if (matcher.path === undefined) return true;
  return typeof matcher.path === 'string'
    ? record.path.includes(matcher.path)
    : matcher.path.test(record.path);
}
