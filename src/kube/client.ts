/**
 * The connection to one Kubernetes API server. @kubernetes/client-node builds a new https.Agent
 * (a new TLS handshake) for every request; on the issuance path that would put a handshake in
 * front of every TokenReview, so requests are routed through one keep-alive agent per cluster
 * with the same TLS settings. Authentication headers are still applied per request by the
 * library, so rotated service-account tokens are picked up.
 *
 * @module
 */
import { Agent, type AgentOptions, type RequestOptions } from 'node:https';
import * as k8s from '@kubernetes/client-node';

/** Where the client's configuration comes from. */
export type KubeConnection =
  | { readonly mode: 'in-cluster' }
  | { readonly mode: 'kubeconfig'; readonly path: string; readonly context?: string };

/** Options of {@link KubeClient}. */
export interface KubeClientOptions {
  readonly connection: KubeConnection;
  /** Upper bound on pooled sockets to the API server. */
  readonly maxSockets: number;
}

/** A configured client for one cluster. */
export class KubeClient {
  readonly kubeConfig: k8s.KubeConfig;
  readonly #agent: Promise<Agent>;
  readonly #agentMiddleware: k8s.ObservableMiddleware;

  constructor(options: KubeClientOptions) {
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

  /** Closes pooled sockets. */
  async close(): Promise<void> {
    (await this.#agent).destroy();
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
