/** net.Server.listen as a promise: rejects on a bind error (EADDRINUSE), resolves with the bound port. */
import type net from 'node:net';

export function listenOn(server: net.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.removeListener('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}
