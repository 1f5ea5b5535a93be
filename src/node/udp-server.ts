// The node's UDP adapter: one payment per datagram, one reply per datagram (core/udp-reply.ts).
//
// Every socket error is survived. A reply to a sender that closed its socket comes back as an ICMP
// "port unreachable", which the kernel reports on this socket as ECONNREFUSED; off loopback a
// spoofed source address does the same. Without an `error` handler Bun ends the process on it, so
// one datagram from anyone could stop the node. Errors are counted and logged (throttled); the
// socket goes on serving.
import type { PaymentIntake } from "./payment-intake.ts";
import { encodeAccepted, encodeRejected } from "../core/udp-reply.ts";
import type { Faults } from "./faults.ts";
import { clientAddressKey } from "./client-address-key.ts";

export interface UdpServerOptions {
  readonly host: string;
  readonly port: number;
  readonly intake: PaymentIntake;
  readonly faults: Faults;
}

export async function startUdpServer(opts: UdpServerOptions) {
  const { faults } = opts;
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
          // A reply that cannot be sent (buffer full, or the client gone) is dropped: a client
          // that still waits retransmits the same bytes, and the node answers from the ledger
          // without applying twice.
          try {
            sock.send(reply, port, address);
          } catch (e) {
            faults.record("udp_send_failed", "udp", `a reply to ${address}:${port} could not be sent: ${errorText(e)}`);
          }
        }, clientAddressKey(address));
      },
      error(_sock, error) {
        // Bun may pass no error object here; the event itself is what matters.
        faults.record("udp_socket_error", "udp", `socket error (ignored; the socket goes on): ${errorText(error)}`);
      },
    },
  });
  return socket;
}

function errorText(e: unknown): string {
  if (e === undefined || e === null) return "no detail given (typically ECONNREFUSED from an ICMP port unreachable)";
  return (e as Error).message ?? String(e);
}
