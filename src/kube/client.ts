/**
 * The connection to one Kubernetes API server. @kubernetes/client-node builds a new https.Agent
 * (a new TLS handshake) for every request; on the issuance path that would put a handshake in
 * front of every TokenReview, so requests are routed through one keep-alive agent per cluster
 * with the same TLS settings. Authentication headers are still applied per request by the
 * library, so rotated service-account tokens are picked up.
 *
 * @module
 */
import { Agent, request, type AgentOptions, type RequestOptions } from 'node:https';
import * as k8s from '@kubernetes/client-node';
import type { Part } from '../runtime/index.js';

/** Where the client's configuration comes from. */
export type KubeConnection =
  | { readonly mode: 'in-cluster' }
  | { readonly mode: 'kubeconfig'; readonly path: string; readonly context?: string };

/** Options of {@link KubeClient}. */
export interface KubeClientOptions {
  readonly connection: KubeConnection;
  /** Upper bound on pooled sockets to the API server. */
  readonly maxSockets: number;
  /** For logs. */
  readonly clusterId?: string;
}

/**
 * A configured client for one cluster. A part of its own only so that its pooled sockets close
 * last, after every part that uses it.
 */
export class KubeClient implements Part {
  readonly name: string;
  readonly kubeConfig: k8s.KubeConfig;
  readonly #agent: Promise<Agent>;
  readonly #agentMiddleware: k8s.ObservableMiddleware;

  constructor(options: KubeClientOptions) {
    this.name = `kube-client:${options.clusterId ?? 'local'}`;
    const kubeConfig = new k8s.KubeConfig();
    if (options.connection.mode === 'in-cluster') {
      kubeConfig.loadFromCluster();
    } else {
      kubeConfig.loadFromFile(options.connection.path);
      if (options.connection.context !== undefined) {
        kubeConfig.setCurrentContext(options.connection.context);
      }
    }
    if (kubeConfig.getCurrentCluster() === null) {
      throw new Error('kubeconfig has no current cluster');
    }
    this.kubeConfig = kubeConfig;
    this.#agent = this.#createAgent(options.maxSockets);
    // Reported on first use (an unreadable CA file in the kubeconfig, say), never as an
    // unhandled rejection that would end the process.
    this.#agent.catch(() => undefined);

    this.#agentMiddleware = {
      pre: (context) =>
        new k8s.Observable(
          this.#agent.then((agent) => {
            context.setAgent(agent);
            return context;
          }),
        ),
      post: (context) => new k8s.Observable(Promise.resolve(context)),
    };
  }

  /** The API server URL, for logs. */
  get server(): string {
    return this.kubeConfig.getCurrentCluster()?.server ?? '';
  }

  /** A typed API client (e.g. `k8s.CoreV1Api`). */
  api<T extends k8s.ApiType>(apiClass: new (config: k8s.Configuration) => T): T {
    return this.kubeConfig.makeApiClient(apiClass);
  }

  /**
   * Per-call options that route the call through the pooled agent and make it abortable.
   */
  callOptions(signal: AbortSignal): k8s.ConfigurationOptions {
    return {
      middleware: [
        this.#agentMiddleware,
        {
          pre: (context) => {
            context.setSignal(signal);
            return new k8s.Observable(Promise.resolve(context));
          },
          post: (context) => new k8s.Observable(Promise.resolve(context)),
        },
      ],
      middlewareMergeStrategy: 'append',
    };
  }

  /**
   * One JSON request to the API server (for list calls whose raw objects feed informers, and for
   * APIs the typed client makes awkward). Authentication comes from the kubeconfig per request.
   *
   * @param parsing.reviver Passed to `JSON.parse`: lets a caller drop fields (Secret values) while
   * the response is parsed, before any object holding them is returned.
   * @throws {@link KubeApiError} for a non-2xx answer; the request's own errors otherwise.
   */
  async requestJson(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    path: string,
    body: unknown,
    signal: AbortSignal,
    parsing: { readonly reviver?: (this: unknown, key: string, value: unknown) => unknown } = {},
  ): Promise<unknown> {
    const options: RequestOptions = {};
    await this.kubeConfig.applyToHTTPSOptions(options);
    const agent = await this.#agent;
    const url = new URL(this.server + path);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const outgoing = request(
        url,
        {
          method,
          agent,
          headers: {
            ...(options.headers as Record<string, string> | undefined),
            // Some endpoints answer with their own JSON types (the JWKS: application/jwk-set+json).
            accept: 'application/json, */*;q=0.8',
            ...(payload
              ? { 'content-type': 'application/json', 'content-length': payload.length }
              : {}),
          },
          signal,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', reject);
          response.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = response.statusCode ?? 0;
            if (status < 200 || status > 299) {
              reject(new KubeApiError(status, method, url.pathname, text));
              return;
            }
            try {
              resolve(text === '' ? {} : (JSON.parse(text, parsing.reviver) as unknown));
            } catch (error) {
              reject(error instanceof Error ? error : new Error(String(error)));
            }
          });
        },
      );
      outgoing.on('error', reject);
      outgoing.end(payload);
    });
  }

  /** Nothing to start: connections open on first use. */
  start(): Promise<void> {
    return Promise.resolve();
  }

  /** Closes pooled sockets. */
  async close(): Promise<void> {
    try {
      (await this.#agent).destroy();
    } catch {
      // The agent never came to be (e.g. an unreadable CA file): nothing to close.
    }
  }

  async #createAgent(maxSockets: number): Promise<Agent> {
    const tls: RequestOptions = {};
    await this.kubeConfig.applyToHTTPSOptions(tls);
    const cluster = this.kubeConfig.getCurrentCluster();
    const options: AgentOptions = {
      keepAlive: true,
      maxSockets,
      ...(tls.ca === undefined ? {} : { ca: tls.ca }),
      ...(tls.cert === undefined ? {} : { cert: tls.cert }),
      ...(tls.key === undefined ? {} : { key: tls.key }),
      ...(cluster?.skipTLSVerify === true ? { rejectUnauthorized: false } : {}),
      ...(cluster?.tlsServerName === undefined ? {} : { servername: cluster.tlsServerName }),
    };
    return new Agent(options);
  }
}

/** A non-2xx answer from the API server. */
export class KubeApiError extends Error {
  readonly status: number;
  /**
   * On a 410 for an expired `continue` token, the token the API server offers to resume the list
   * from the next key (in a newer, inconsistent snapshot), when it offers one.
   */
  readonly continueToken: string | undefined;

  constructor(status: number, method: string, path: string, body: string) {
    let reason: string;
    let continueToken: string | undefined;
    try {
      const { message, metadata } = JSON.parse(body) as {
        message?: unknown;
        metadata?: { continue?: unknown };
      };
      reason = typeof message === 'string' ? message : '';
      continueToken =
        typeof metadata?.continue === 'string' && metadata.continue !== ''
          ? metadata.continue
          : undefined;
    } catch {
      reason = body.slice(0, 200);
    }
    super(`${method} ${path}: HTTP ${status}${reason ? `: ${reason}` : ''}`);
    this.name = 'KubeApiError';
    this.status = status;
    this.continueToken = continueToken;
  }
}

/** The HTTP status of an API error from either client path, or undefined. */
export function apiStatus(error: unknown): number | undefined {
  if (error instanceof KubeApiError) return error.status;
  if (error instanceof k8s.ApiException) return error.code;
  return undefined;
}
