// The node's UDP adapter: one payment per datagram, one reply per datagram (core/udp-reply.ts).
import type { PaymentIntake } from "./payment-intake.ts";
import { encodeAccepted, encodeRejected } from "../core/udp-reply.ts";

export async function startUdpServer(opts: { host: string; port: number; intake: PaymentIntake; onSendError?: () => void }) {
  const socket = await Bun.udpSocket({
    hostname: opts.host,
    port: opts.port,
    socket: {
      data(sock, data, port, address) {
        const requestBytes = data.length;
        if (requestBytes === 0) return; // nothing fits in a reply no larger than the request
        opts.intake.submit(data, (outcome) => {
          const reply = outcome.accepted
            ? encodeAccepted(outcome.id, requestBytes)
            : encodeRejected(outcome.code, outcome.id, requestBytes);
          // A reply that cannot be sent (buffer full, or the client gone: ECONNREFUSED from an
          // earlier ICMP) is dropped: a client that still waits retransmits the same bytes, and
          // the node answers from the ledger without applying twice.
          try {
            sock.send(reply, port, address);
          } catch {
            opts.onSendError?.();
          }
        });
      },
    },
  });
  return socket;
}
