/**
 * The listening sockets a worker reported in one sample, one per address: protocol version 2
 * sends `listen` (address, connections queued, backlog); a version 1 shim's single
 * `listen_backlog` is one socket at address "" with an unknown limit. Read by the exposition
 * (wsgi_listen_queue_*) and the live page.
 */
import type { ListenSocket, Sample } from '@wsgiscope/protocol';

export function listenSockets(sample: Sample | undefined): ListenSocket[] {
  if (sample === undefined) return [];
  if (sample.listen !== undefined) {
    const byAddress = new Map<string, ListenSocket>();
    for (const socket of sample.listen) if (!byAddress.has(socket.address)) byAddress.set(socket.address, socket);
    return [...byAddress.values()];
  }
  const backlog = sample.listen_backlog;
  return backlog === undefined || backlog === null ? [] : [{ address: '', queued: backlog, limit: null }];
}
