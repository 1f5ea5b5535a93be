// Sends one payment datagram and waits for its reply, sending the very same bytes again until one
// comes. Retransmitting is safe: the node recognises the same 140 bytes and answers "accepted"
// again without applying them twice.
//
// A server that is down answers with an ICMP "port unreachable", which the kernel reports on this
// socket (ECONNREFUSED). That is handled, never thrown: it ends the exchange early as "refused".
// Which of the identical datagrams it was for cannot be known, so a refused exchange is not proof
// that none arrived (the server may have taken one and then stopped): the caller finds out.
import { isIP } from "node:net";
import { decodeReply, type UdpReply } from "../core/udp-reply.ts";
import { PAY_RETRANSMIT_INTERVAL_MS, PAY_RETRANSMITS_MAX } from "../core/limits.ts";

/** Whether a reply's source address is the host we sent to (IPv4-mapped forms included). */
function sameHost(fromAddress: string, host: string): boolean {
  const strip = (a: string) => a.replace(/^::ffff:/, "").replace(/^\[|\]$/g, "").toLowerCase();
  const h = strip(host);
  // A host name resolves to an address we do not see here: then the port must do.
  return isIP(h) === 0 || strip(fromAddress) === h;
}

export type UdpExchange =
  | { readonly kind: "reply"; readonly reply: Exclude<UdpReply, { kind: "malformed" }>; readonly transmissions: number }
  /** No reply. `refused`: the host reported the port closed (the server is not running). */
  | { readonly kind: "no-reply"; readonly transmissions: number; readonly refused: boolean; readonly detail: string };

export async function sendPaymentUdp(
  bytes: Uint8Array,
  host: string,
  port: number,
  opts: { intervalMs?: number; retransmitsMax?: number } = {},
): Promise<UdpExchange> {
  const intervalMs = opts.intervalMs ?? PAY_RETRANSMIT_INTERVAL_MS;
  const retransmitsMax = opts.retransmitsMax ?? PAY_RETRANSMITS_MAX;
  let settle!: (r: Exclude<UdpReply, { kind: "malformed" }> | "refused") => void;
  const answered = new Promise<Exclude<UdpReply, { kind: "malformed" }> | "refused">((resolve) => (settle = resolve));
  const socket = await Bun.udpSocket({
    socket: {
      data(_sock, data, fromPort, fromAddress) {
        // Only the server asked may answer (a reply from elsewhere is ignored, not trusted).
        if (fromPort !== port || !sameHost(fromAddress, host)) return;
        const reply = decodeReply(new Uint8Array(data), bytes.length);
        if (reply.kind !== "malformed") settle(reply);
      },
      error() {
        settle("refused");
      },
    },
  });
  let transmissions = 0;
  try {
    for (let attempt = 0; attempt <= retransmitsMax; attempt++) {
      try {
        socket.send(bytes, port, host);
        transmissions++;
      } catch {
        settle("refused");
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), intervalMs)));
      const outcome = await Promise.race([answered, timeout]);
      clearTimeout(timer);
      if (outcome === "refused") {
        return { kind: "no-reply", transmissions, refused: true, detail: `${host}:${port} refused the datagram (no server is listening there)` };
      }
      if (outcome !== null) return { kind: "reply", reply: outcome, transmissions };
    }
    return { kind: "no-reply", transmissions, refused: false, detail: `no reply from ${host}:${port} after ${transmissions} attempts over ${((retransmitsMax + 1) * intervalMs) / 1000} s` };
  } finally {
    socket.close();
  }
}
