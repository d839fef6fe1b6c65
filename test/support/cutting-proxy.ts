import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of a server that, once armed, forwards only the next `bytes` bytes the
 * clients send and then cuts every connection: a network failure in the middle of a request,
 * at a byte the test chooses.
 */
export class CuttingProxy {
  port = 0;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private budget = Infinity;

  constructor(private readonly targetPort: number) {}

  /** `redis://127.0.0.1:<port>` */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect({ port: this.targetPort, host: '127.0.0.1' });
      this.sockets.add(client).add(upstream);
      const drop = () => {
        this.sockets.delete(client);
        this.sockets.delete(upstream);
        client.destroy();
        upstream.destroy();
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      upstream.on('data', (chunk: Buffer) => client.write(chunk));
      client.on('data', (chunk: Buffer) => {
        if (chunk.length <= this.budget) {
          this.budget -= chunk.length;
          upstream.write(chunk);
          return;
        }
        upstream.write(chunk.subarray(0, this.budget), () => this.cutAll());
        this.budget = 0;
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
  }

  /** From now on, forward `bytes` more bytes from the clients, then cut every connection. */
  arm(bytes: number): void {
    this.budget = bytes;
  }

  /** Forward everything again (new connections work at once). */
  disarm(): void {
    this.budget = Infinity;
  }

  private cutAll(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  async stop(): Promise<void> {
    this.cutAll();
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }
}
