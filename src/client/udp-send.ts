// Sends one payment datagram and waits for its reply, sending the very same bytes again until one
// comes. Retransmitting is safe: the node recognises the same 140 bytes and answers "accepted"
// again without applying them twice.
import { decodeReply, type UdpReply } from "../core/udp-reply.ts";
import { PAY_RETRANSMIT_INTERVAL_MS, PAY_RETRANSMITS_MAX } from "../core/limits.ts";

/** Whether a reply's source address is the host we sent to (IPv4-mapped forms included). */
function sameHost(fromAddress: string, host: string): boolean {
  const strip = (a: string) => a.replace(/^::ffff:/, "").replace(/^\[|\]$/g, "").toLowerCase();
  const h = strip(host);
  // A host name resolves to an address we do not see here: then the port must do.
  const isIpLiteral = /^[0-9.]+$/.test(h) || h.includes(":");
  return !isIpLiteral || strip(fromAddress) === h;
}

export class NoReplyError extends Error {
  override name = "NoReplyError";
}

export async function sendPaymentUdp(
  bytes: Uint8Array,
  host: string,
  port: number,
  opts: { intervalMs?: number; retransmitsMax?: number } = {},
): Promise<UdpReply> {
  const intervalMs = opts.intervalMs ?? PAY_RETRANSMIT_INTERVAL_MS;
  const retransmitsMax = opts.retransmitsMax ?? PAY_RETRANSMITS_MAX;
  let resolveReply!: (r: UdpReply) => void;
  const replied = new Promise<UdpReply>((resolve) => (resolveReply = resolve));
  const socket = await Bun.udpSocket({
    socket: {
      data(_sock, data, fromPort, fromAddress) {
        // Only the server asked may answer (a reply from elsewhere is ignored, not trusted).
        if (fromPort !== port || !sameHost(fromAddress, host)) return;
        const reply = decodeReply(new Uint8Array(data), bytes.length);
        if (reply.kind !== "malformed") resolveReply(reply);
      },
    },
  });
  try {
    for (let attempt = 0; attempt <= retransmitsMax; attempt++) {
      socket.send(bytes, port, host);
      const timeout = new Promise<null>((resolve) => setTimeout(() => resolve(null), intervalMs));
      const reply = await Promise.race([replied, timeout]);
      if (reply !== null) return reply;
    }
    throw new NoReplyError(`no reply from ${host}:${port} after ${retransmitsMax + 1} attempts over ${((retransmitsMax + 1) * intervalMs) / 1000} s`);
  } finally {
    socket.close();
  }
}
