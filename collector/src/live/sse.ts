/**
 * Server-sent events for the live page: one `snapshot` event per interval to every connected
 * client, built ONCE per tick whatever the number of clients. The timer runs only while a
 * client is connected: the last disconnect stops it, so an unwatched collector does no work.
 */
import type { Response } from 'express';

/** One SSE frame. JSON never contains a raw newline, but any data line is split to be safe. */
export function sseFrame(event: string, data: string, id?: number): string {
  const lines = data.split(/\r\n|\r|\n/).map((line) => `data: ${line}\n`).join('');
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\n${lines}\n`;
}

/** What the broadcaster needs of a connected client (an express Response in production). */
export interface SseClient {
  write(chunk: string): boolean;
}

export class SseBroadcaster {
  private readonly clients = new Set<SseClient>();
  private timer: NodeJS.Timeout | undefined;
  private sequence = 0;

  constructor(
    private readonly build: () => string,
    readonly intervalMs = 1000,
  ) {}

  /** Serve `res` as an event stream until the client goes away. */
  attach(res: Response): void {
    res.status(200).set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      'X-Accel-Buffering': 'no',
      Connection: 'keep-alive',
    });
    res.flushHeaders();
    res.write('retry: 2000\n\n');
    this.add(res);
    res.on('close', () => {
      this.remove(res);
    });
  }

  add(client: SseClient): void {
    this.clients.add(client);
    client.write(this.frame()); // the first picture at once, not after a tick
    if (this.timer === undefined) {
      this.timer = setInterval(() => {
        this.tick();
      }, this.intervalMs);
      this.timer.unref();
    }
  }

  remove(client: SseClient): void {
    this.clients.delete(client);
    if (this.clients.size === 0) this.stop();
  }

  get clientCount(): number {
    return this.clients.size;
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  /** Send one snapshot to every client now (the timer calls this). */
  tick(): void {
    if (this.clients.size === 0) return;
    const frame = this.frame();
    for (const client of this.clients) client.write(frame);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private frame(): string {
    return sseFrame('snapshot', this.build(), ++this.sequence);
  }
}
