/**
 * A TCP proxy the tests put between meshca and the API server, to take the API server away
 * (every connection cut, nothing accepted) and bring it back, or to make it slow (every byte
 * delayed, nothing cut).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { freePort } from './process.js';

/** A TCP proxy to the API server that the test can take away, bring back, or slow down. */
export class TcpProxy {
  readonly port: number;
  readonly #target: { readonly host: string; readonly port: number };
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;
  #delayMs = 0;
  #connections = 0;
  #peakConnections = 0;

  constructor(port: number, target: { readonly host: string; readonly port: number }) {
    this.port = port;
    this.#target = target;
  }

  /** Starts accepting connections on 127.0.0.1:port. */
  async open(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.#target.port, this.#target.host);
      this.#connections++;
      this.#peakConnections = Math.max(this.#peakConnections, this.#connections);
      client.once('close', () => this.#connections--);
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.once('close', () => this.#sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      this.#forward(client, upstream);
      this.#forward(upstream, client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        resolve();
      });
    });
    this.#server = server;
  }

  /**
   * Delays every chunk, in both directions, by `ms` from now on (0: none). Nothing is cut or
   * refused: the API server answers, but late — what a overloaded or half-partitioned one does.
   */
  setDelay(ms: number): void {
    this.#delayMs = ms;
  }

  /** Connections open through the proxy now, and the most ever open at once. */
  get connections(): { readonly open: number; readonly peak: number } {
    return { open: this.#connections, peak: this.#peakConnections };
  }

  /** Copies `from` to `to`, each chunk after the current delay, in order. */
  #forward(from: Socket, to: Socket): void {
    let notBefore = 0;
    from.on('data', (chunk: Buffer) => {
      if (this.#delayMs === 0 && notBefore <= performance.now()) {
        to.write(chunk);
        return;
      }
      // Never before an earlier chunk, even if the delay was shortened meanwhile.
      notBefore = Math.max(notBefore, performance.now() + this.#delayMs);
      setTimeout(() => {
        if (!to.destroyed) to.write(chunk);
      }, notBefore - performance.now());
    });
    from.on('end', () => {
      setTimeout(
        () => {
          to.end();
        },
        Math.max(0, notBefore - performance.now()),
      );
    });
  }

  /** Stops listening and cuts every connection (watches and keep-alive sockets included). */
  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const socket of this.#sockets) socket.destroy();
    if (server !== undefined) {
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    }
  }
}

/**
 * A proxy (not yet open) in front of the API server of `kubeconfigPath`, and a copy of that
 * kubeconfig that goes through it.
 */
export async function proxiedKubeconfig(
  kubeconfigPath: string,
  directory: string,
): Promise<{ readonly proxy: TcpProxy; readonly kubeconfig: string }> {
  const config = JSON.parse(readFileSync(kubeconfigPath, 'utf8')) as {
    clusters: { cluster: { server: string } }[];
  };
  const target = new URL(config.clusters[0]?.cluster.server ?? '');
  const proxy = new TcpProxy(await freePort(), {
    host: target.hostname,
    port: Number(target.port),
  });
  for (const { cluster } of config.clusters) cluster.server = `https://127.0.0.1:${proxy.port}`;
  const kubeconfig = join(directory, 'kubeconfig');
  writeFileSync(kubeconfig, JSON.stringify(config), { mode: 0o600 });
  return { proxy, kubeconfig };
}
