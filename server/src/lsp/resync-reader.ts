// A JSON-RPC stdio reader that survives bad frames. vscode-jsonrpc's stream reader keeps the rest of a
// bad frame glued to the next header, so one wrong Content-Length makes the server deaf for good.
// This one reports the error and resynchronises at the next "Content-Length:" header.
import { AbstractMessageReader, type DataCallback, type Disposable, type Message } from 'vscode-languageserver/node';

const HEADER = Buffer.from('Content-Length:', 'ascii');
const CRLF2 = Buffer.from('\r\n\r\n', 'ascii');
/** A body larger than this is not a message we want: skip it rather than buffer without end. */
const MAX_BODY = 512 * 1024 * 1024;

/** Frames whose body is not a message: the owner answers them (JSON-RPC: -32700 / -32600, id null). */
export interface ResyncHandlers {
  /** The body is not JSON. */
  onParseError?(message: string): void;
  /** The body is JSON but no message (not an object, or an object with neither method nor id). */
  onInvalidMessage?(message: string): void;
  /** A request whose `params` is neither an object nor an array (null, a string...): JSON-RPC allows only
   *  structured params. Without a handler it goes on to the connection. */
  onInvalidParams?(id: string | number, method: string): void;
}

export class ResyncMessageReader extends AbstractMessageReader {
  /** The unread bytes: a view into `store`, which grows by doubling. Appending with Buffer.concat copied
   *  the whole pending frame on every 64 KiB chunk: an 82 MB didOpen took 100 s to read. */
  private buf = Buffer.alloc(0);
  private store = Buffer.alloc(0);
  private storeEnd = 0;
  /** While a body is incomplete: how far (in `buf`) it was searched for a later header already. */
  private scanned = 0;
  private callback: DataCallback | undefined;

  constructor(private readonly input: NodeJS.ReadableStream, private readonly handlers: ResyncHandlers = {}) {
    super();
    input.on('error', (e: Error) => this.fireError(e));
    input.on('close', () => this.fireClose());
  }

  listen(callback: DataCallback): Disposable {
    this.callback = callback;
    const onData = (chunk: Buffer | string) => {
      this.append(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
      this.drain();
    };
    this.input.on('data', onData);
    return { dispose: () => { this.input.removeListener('data', onData); this.callback = undefined; } };
  }

  /** `buf` always ends at `storeEnd`: consuming only moves its start. */
  private append(chunk: Buffer): void {
    const live = this.buf.length;
    if (!live) {
      // Nothing pending: start at the front again, and let go of a store a huge message left behind.
      this.storeEnd = 0;
      if (this.store.length > 4 * 1024 * 1024) this.store = Buffer.alloc(0);
    }
    if (this.storeEnd + chunk.length > this.store.length) {
      const next = Buffer.allocUnsafe(Math.max(64 * 1024, 2 * (live + chunk.length)));
      this.buf.copy(next, 0);
      this.store = next;
      this.storeEnd = live;
    }
    chunk.copy(this.store, this.storeEnd);
    this.storeEnd += chunk.length;
    this.buf = this.store.subarray(this.storeEnd - live - chunk.length, this.storeEnd);
  }

  /** Drops everything before the next header after `from` (or keeps a tail that may start one). */
  private resync(from: number): void {
    const next = this.buf.indexOf(HEADER, from);
    this.buf = next >= 0 ? this.buf.subarray(next) : this.buf.subarray(Math.max(from, this.buf.length - HEADER.length + 1));
    this.scanned = 0;
  }

  private drain(): void {
    for (;;) {
      const start = this.buf.indexOf(HEADER);
      if (start < 0) {
        if (this.buf.length > HEADER.length) {
          if (this.buf.subarray(0, this.buf.length - HEADER.length).toString('ascii').trim()) this.fireError(new Error('data outside a message dropped'));
          this.resync(0);
        }
        return;
      }
      if (start > 0) {
        if (this.buf.subarray(0, start).toString('ascii').trim()) this.fireError(new Error('data before a header dropped'));
        this.buf = this.buf.subarray(start);
        this.scanned = 0;
      }
      const end = this.buf.indexOf(CRLF2);
      if (end < 0) {
        // A header never ends if a later header starts first: the frame is broken.
        if (this.buf.indexOf(HEADER, 1) > 0) { this.fireError(new Error('unterminated header')); this.resync(1); continue; }
        return;
      }
      const header = this.buf.subarray(0, end).toString('ascii');
      let length = -1;
      for (const line of header.split('\r\n')) {
        const m = /^Content-Length:\s*(\d+)\s*$/i.exec(line);
        if (m) length = Number(m[1]);
      }
      if (length < 0 || length > MAX_BODY) {
        this.fireError(new Error(`bad header ${JSON.stringify(header.slice(0, 80))}`));
        this.resync(1);
        continue;
      }
      const bodyStart = end + CRLF2.length;
      if (this.buf.length < bodyStart + length) {
        // Wait for the body, unless a new header already arrived inside it and the body cannot parse.
        // A Content-Length too long for its body: what stands before the next header is the message.
        // Only the bytes that arrived since the last look are searched (a huge body arrives in many chunks).
        const later = this.buf.indexOf(HEADER, Math.max(bodyStart, this.scanned - HEADER.length));
        this.scanned = this.buf.length;
        if (later < 0) return;
        let early: Message | undefined;
        try { early = JSON.parse(this.buf.subarray(bodyStart, later).toString('utf8')) as Message; } catch { /* reported below */ }
        this.fireError(new Error('Content-Length longer than the body'));
        this.buf = this.buf.subarray(later);
        this.scanned = 0;
        if (early && typeof early === 'object' && this.callback) this.callback(early);
        continue;
      }
      const body = this.buf.subarray(bodyStart, bodyStart + length).toString('utf8');
      let msg: Message | undefined;
      try {
        msg = JSON.parse(body) as Message;
      } catch (e) {
        this.fireError(new Error('body is not JSON'));
        this.handlers.onParseError?.((e as Error).message);
        this.resync(bodyStart);
        continue;
      }
      this.buf = this.buf.subarray(bodyStart + length);
      this.scanned = 0;
      if (!msg || typeof msg !== 'object' || Array.isArray(msg) || (!('method' in msg) && !('id' in msg))) {
        this.handlers.onInvalidMessage?.(Array.isArray(msg) ? 'batches are not supported' : 'not a JSON-RPC request, notification or response');
        // An object still goes to the connection, which logs it (as before); anything else is dropped.
        if (!msg || typeof msg !== 'object' || Array.isArray(msg)) continue;
      }
      const m = msg as { id?: unknown; method?: unknown; params?: unknown };
      if (typeof m.method === 'string' && 'params' in m && m.params !== undefined && (typeof m.params !== 'object' || m.params === null)) {
        // vscode-languageserver reads params.workDoneToken (and $/cancelRequest params.id) before any handler
        // could check them: null would be an internal error, or throw in here.
        if (typeof m.id === 'string' || typeof m.id === 'number') this.handlers.onInvalidParams?.(m.id, m.method);
        if (this.handlers.onInvalidParams) continue;
      }
      if (this.callback) this.callback(msg);
    }
  }
}
