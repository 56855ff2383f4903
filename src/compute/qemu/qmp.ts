/**
 * A small QMP (QEMU Machine Protocol) client over a unix socket: the greeting, capabilities
 * negotiation, commands with their replies (matched by id), and asynchronous events (SHUTDOWN, RESET,
 * POWERDOWN, …). QEMU serves one QMP client per socket at a time, so a client must be closed before
 * another process (a restarted nestbox) can connect.
 */
import { type Socket, createConnection } from 'node:net';

export interface QmpEvent {
  readonly event: string;
  readonly data?: Record<string, unknown>;
  readonly timestamp?: { readonly seconds: number; readonly microseconds: number };
}

export class QmpError extends Error {
  override readonly name = 'QmpError';
  constructor(
    readonly command: string,
    readonly errorClass: string,
    desc: string,
  ) {
    super(`QMP ${command}: ${errorClass}: ${desc}`);
  }
}

interface Pending {
  readonly command: string;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: Error) => void;
}

export class QmpClient {
  private buffer = '';
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  private eventHandlers: ((e: QmpEvent) => void)[] = [];
  private closeHandlers: (() => void)[] = [];
  private closed = false;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('close', () => this.handleClose());
    socket.on('error', () => undefined); // 'close' follows
  }

  /** Connects, reads the greeting and negotiates capabilities; rejects after `timeoutMs` or on `signal`. */
  static connect(path: string, timeoutMs: number, signal?: AbortSignal): Promise<QmpClient> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(new Error(`QMP ${path}: aborted`));
        return;
      }
      const socket = createConnection(path);
      let settled = false;
      const onAbort = () => fail(new Error(`QMP ${path}: aborted`));
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        socket.destroy();
        reject(err);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const timer = setTimeout(() => fail(new Error(`QMP ${path}: no greeting within ${timeoutMs} ms`)), timeoutMs);
      socket.once('error', (err) => fail(err));
      socket.once('close', () => fail(new Error(`QMP ${path}: connection closed during the handshake`)));
      let greeting = '';
      const onGreeting = (chunk: Buffer) => {
        greeting += chunk.toString('utf8');
        const nl = greeting.indexOf('\n');
        if (nl < 0) return;
        socket.off('data', onGreeting);
        let hello: unknown;
        try {
          hello = JSON.parse(greeting.slice(0, nl));
        } catch {
          fail(new Error(`QMP ${path}: the greeting is not JSON`));
          return;
        }
        if (typeof hello !== 'object' || hello === null || !('QMP' in hello)) {
          fail(new Error(`QMP ${path}: unexpected greeting`));
          return;
        }
        socket.removeAllListeners('error');
        socket.removeAllListeners('close');
        const client = new QmpClient(socket);
        client.onData(greeting.slice(nl + 1));
        client.execute('qmp_capabilities').then(
          () => {
            if (settled) {
              client.close();
              return;
            }
            settled = true;
            clearTimeout(timer);
            signal?.removeEventListener('abort', onAbort);
            resolve(client);
          },
          (err: Error) => fail(err),
        );
      };
      socket.on('data', onGreeting);
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Runs a command; resolves with its `return` value. */
  execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error(`QMP ${command}: the connection is closed`));
    const id = `nestbox-${this.nextId++}`;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { command, resolve, reject });
      this.socket.write(`${JSON.stringify(args ? { execute: command, arguments: args, id } : { execute: command, id })}\n`);
    });
  }

  /** A human monitor (HMP) command, for what QMP has no command of its own for; resolves with what it printed. */
  async humanMonitor(commandLine: string): Promise<string> {
    const out = await this.execute('human-monitor-command', { 'command-line': commandLine });
    return typeof out === 'string' ? out : '';
  }

  onEvent(handler: (e: QmpEvent) => void): void {
    this.eventHandlers.push(handler);
  }

  /** Called once when the connection ends (QEMU exited, or close()). */
  onClose(handler: () => void): void {
    if (this.closed) handler();
    else this.closeHandlers.push(handler);
  }

  close(): void {
    this.eventHandlers = [];
    this.closeHandlers = [];
    this.socket.destroy();
    this.handleClose();
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    for (let nl = this.buffer.indexOf('\n'); nl >= 0; nl = this.buffer.indexOf('\n')) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (line) this.onMessage(line);
    }
  }

  private onMessage(line: string): void {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    if (typeof msg.event === 'string') {
      for (const h of this.eventHandlers) h(msg as unknown as QmpEvent);
      return;
    }
    const id = typeof msg.id === 'string' ? msg.id : undefined;
    const p = id === undefined ? undefined : this.pending.get(id);
    if (!p || id === undefined) return;
    this.pending.delete(id);
    if ('error' in msg) {
      const e = (msg.error ?? {}) as { class?: string; desc?: string };
      p.reject(new QmpError(p.command, e.class ?? 'GenericError', e.desc ?? 'failed'));
    } else {
      p.resolve(msg.return);
    }
  }

  private handleClose(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.values()) p.reject(new Error(`QMP ${p.command}: the connection closed`));
    this.pending.clear();
    const handlers = this.closeHandlers;
    this.closeHandlers = [];
    for (const h of handlers) h();
  }
}
