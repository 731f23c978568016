import net from 'node:net';

/**
 * A tiny TCP proxy between the app's pool and PostgreSQL, for failure tests without mocks: `cut()`
 * drops every open connection and refuses new ones (as a dead server or a broken network would),
 * `stall()` drops them and then accepts new ones but never answers (a server that hangs),
 * `restore()` lets connections through again.
 */
export interface TcpProxy {
  port: number;
  cut(): void;
  stall(): void;
  restore(): void;
  /** Points new connections at another server (a restarted one on another port); drops the open ones. */
  retarget(target: { host: string; port: number }): void;
  close(): Promise<void>;
}

export async function startTcpProxy(initialTarget: { host: string; port: number }): Promise<TcpProxy> {
  let target = initialTarget;
  let mode: 'open' | 'cut' | 'stall' = 'open';
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (mode === 'cut') {
      client.destroy();
      return;
    }
    if (mode === 'stall') {
      sockets.add(client);
      client.on('close', () => sockets.delete(client));
      client.on('error', () => client.destroy());
      return;
    }
    const upstream = net.connect(target.port, target.host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    cut() {
      mode = 'cut';
      for (const s of sockets) s.destroy();
    },
    stall() {
      mode = 'stall';
      for (const s of sockets) s.destroy();
    },
    retarget(next) {
      target = next;
      for (const s of sockets) s.destroy();
    },
    restore() {
      // Connections held by a stall never got through: drop them so their clients fail and retry.
      if (mode === 'stall') for (const s of sockets) s.destroy();
      mode = 'open';
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
