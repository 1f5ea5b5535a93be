// A loopback HTTP forwarder in front of one node's peer address, in the test process, that loses
// a share of the requests: no test-only code in the node. Peer requests are signed over method,
// path and query, time and Content-Length (PROTOCOL.md §5), and the node checks only the syntax of
// the Host header (src/node/http-guard.ts), so a forwarder that keeps the method, path, headers and
// body bytes keeps every request valid.
//
// A lost request is one of two kinds, half each, as on a real link:
//   - lost on the way there: not forwarded; the sender gets 502 at once (its fetch fails);
//   - lost on the way back: forwarded and answered by the node, but the sender gets 502 instead
//     (the receiver acted on it; the sender cannot know).
// `dropWhen` loses chosen requests whatever the rate (e.g. every handover of one window).

/** What a request to /peer/message carries: the type byte at offset 12 and the window at 77. */
export interface PeerRequestInfo {
  readonly method: string;
  readonly path: string;
  /** handover, vote, relay (POST /peer/message), else the path's last segment. */
  readonly kind: string;
  readonly window: number | null;
}

const MESSAGE_KINDS: Record<number, string> = { 1: "handover", 2: "vote", 3: "relay" };

export class LossyProxy {
  readonly port: number;
  readonly target: string;
  /** Share of requests lost, 0..1; change it at any time. */
  lossRate = 0;
  dropWhen: ((r: PeerRequestInfo) => boolean) | null = null;
  private readonly counts = new Map<string, { forwarded: number; lostThere: number; lostBack: number; failed: number }>();
  private readonly server: ReturnType<typeof Bun.serve>;
  private readonly random: () => number;

  constructor(listen: string, target: string, seed: number) {
    const [host, port] = listen.split(":") as [string, string];
    this.target = target;
    let a = seed >>> 0;
    this.random = () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = Math.imul(a ^ (a >>> 15), a | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    this.server = Bun.serve({ hostname: host, port: Number(port), idleTimeout: 30, maxRequestBodySize: 256 * 1024 * 1024, fetch: (req) => this.forward(req) });
    this.port = Number(port);
  }

  private count(kind: string) {
    let c = this.counts.get(kind);
    if (c === undefined) this.counts.set(kind, (c = { forwarded: 0, lostThere: 0, lostBack: 0, failed: 0 }));
    return c;
  }

  private async forward(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const body = req.method === "GET" || req.method === "HEAD" ? null : new Uint8Array(await req.arrayBuffer());
    let kind = url.pathname.split("/").at(-1) ?? "?";
    let window: number | null = null;
    if (url.pathname === "/peer/message" && body !== null && body.length >= 85) {
      kind = MESSAGE_KINDS[body[12]!] ?? `type-${body[12]}`;
      window = Number(new DataView(body.buffer, body.byteOffset).getBigInt64(77, false));
    }
    const info: PeerRequestInfo = { method: req.method, path: url.pathname, kind, window };
    const c = this.count(kind);
    const chosen = this.dropWhen?.(info) === true;
    const lost = chosen || this.random() < this.lossRate;
    const there = lost && (chosen || this.random() < 0.5);
    if (there) {
      c.lostThere++;
      return new Response("lost by the test proxy", { status: 502 });
    }
    const headers = new Headers(req.headers);
    for (const h of ["host", "connection", "content-length", "transfer-encoding", "accept-encoding"]) headers.delete(h);
    let answer: Response;
    try {
      answer = await fetch(`http://${this.target}${url.pathname}${url.search}`, {
        method: req.method,
        headers,
        ...(body === null ? {} : { body }),
        signal: AbortSignal.timeout(60_000),
        decompress: false,
      } as RequestInit);
    } catch (e) {
      // The node is down, or closed a kept-alive connection as this request went out on it
      // (ECONNRESET): to the sender, a lost request like the others, counted apart.
      c.failed++;
      return new Response(`test proxy: the node did not answer: ${(e as Error).message}`, { status: 502 });
    }
    const bytes = new Uint8Array(await answer.arrayBuffer());
    if (lost) {
      c.lostBack++;
      return new Response("lost by the test proxy", { status: 502 });
    }
    c.forwarded++;
    const out = new Headers(answer.headers);
    for (const h of ["content-length", "transfer-encoding", "content-encoding", "connection"]) out.delete(h);
    return new Response(bytes, { status: answer.status, headers: out });
  }

  /** Counts by kind: forwarded / lost there / lost back. */
  describe(): string {
    return [...this.counts.entries()].map(([k, c]) => `${k} ${c.forwarded}/${c.lostThere}/${c.lostBack}/${c.failed}`).join(", ") + " (forwarded/lost there/lost back/node did not answer)";
  }

  totals(): { forwarded: number; lost: number } {
    let forwarded = 0;
    let lost = 0;
    for (const c of this.counts.values()) {
      forwarded += c.forwarded;
      lost += c.lostThere + c.lostBack + c.failed;
    }
    return { forwarded, lost };
  }

  close(): void {
    this.server.stop(true);
  }
}
