// Every fixed number of the protocol and every limit of the node, named once, with its unit and reason.

/** Total scryp that exists, forever: all balances together. Balances are u32. */
export const SUPPLY = 0xffff_ffff;
export const BALANCE_MAX = 0xffff_ffff;

export const PAYMENT_SIZE_BYTES = 140;
/** The signed part of a payment: timestamp | amount | payee | payer. Also the dedupe key. */
export const PAYMENT_SIGNED_BYTES = 76;
export const KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;
export const SEED_BYTES = 32;

export const INTERVAL_MS_DEFAULT = 120_000;
export const BLACKOUT_MS_DEFAULT = 15_000;
export const SKEW_MS_DEFAULT = 5_000;

// Bounds on the schedule a network file may set. The relations between them (blackout > 2 × skew,
// blackout < interval) are in core/network.ts; these keep each number in a range a network can run.
/** A window must hold a handover (flush, batch, votes over the internet) and some accepting time;
 *  below 1 s the alpha would do little else. Also `scryp devnet`'s shortest --interval. */
export const INTERVAL_MS_MIN = 1_000;
/** An alpha that stops holds acceptance up for the rest of its window; past a day that is an outage,
 *  and a number this large is almost surely seconds or µs written where ms belong. */
export const INTERVAL_MS_MAX = 86_400_000;
/** A payment's timestamp is the client's clock; the tolerance must cover that clock's NTP error and
 *  the datagram's flight, or honest payments are refused TIMESTAMP_SKEW. `scryp devnet` (one shared
 *  clock, loopback) goes down to 99 ms. */
export const SKEW_MS_MIN = 50;
/** Implied by blackout > 2 × skew and blackout < interval; checked on its own so the message names skew. */
export const SKEW_MS_MAX = INTERVAL_MS_MAX / 2;

// ---- Window capacity ------------------------------------------------------------------------------
// The network file's `capacity`: the most payments one window may hold. Every size that follows from
// it (handover and relay messages, the /peer/message body, resync answers, the relay check queue) is
// derived in core/consensus/peer-limits.ts, and the relations between them are asserted there.
/** The default: a window's handover of 28 MB, which a beta sends and a peer checks in a few seconds. */
export const CAPACITY_PAYMENTS_DEFAULT = 200_000;
/** A window must be able to hold a payment. */
export const CAPACITY_PAYMENTS_MIN = 1;
/**
 * The largest handover is then 70 MB (140 bytes a payment), which stays well inside the 128 MiB
 * Bun accepts as one request body (HTTP_REQUEST_BODY_BYTES_MAX); the beta holds the window's rows
 * and the encoded message, each receiver the body and a view per payment: a few hundred MB at
 * worst. A handover that was not relayed ahead also costs ~5 s of signature checks per 100,000
 * payments on the receiver's main thread (25 s at this bound), within a beta period of a sane
 * interval. A larger window is better served by a shorter interval.
 */
export const CAPACITY_PAYMENTS_MAX = 500_000;
/**
 * Bun refuses request bodies beyond this (its maxRequestBodySize default, set explicitly by the
 * node): the largest peer message must fit.
 */
export const HTTP_REQUEST_BODY_BYTES_MAX = 128 * 1024 * 1024;
/** The alpha relays at once when this many committed payments wait; also the most one relay holds. */
export const RELAY_PAYMENTS_MAX = 10_000;
/**
 * Relays the alpha sends in one window, at most (core/consensus/replication.ts paces them: half by
 * time, the rest when RELAY_PAYMENTS_MAX wait), and so the most a rescue or a GET /peer/relays
 * answer carries: the relays' own overhead in a rescue stays under 0.7 MB.
 */
export const RESCUE_RELAYS_MAX = 4096;
/**
 * Rows a resync answer (GET /peer/payments) may hold at least (29.6 MB of 148-byte rows): a server
 * behind by many small windows catches up in few requests. Raised to the capacity when that is
 * larger, so one window always fits in one answer.
 */
export const RESYNC_PAYMENTS_BASE = 200_000;
/** One resync row: window (i64) | the payment's 140 bytes. */
export const RESYNC_ROW_BYTES = 8 + PAYMENT_SIZE_BYTES;

/** A network is a handful of community servers; more would make every handover a broadcast storm. */
export const SERVERS_MAX = 64;
/** Genesis is hand-written by the network's founders; a bound keeps the file reviewable and loading fast. */
export const GENESIS_ACCOUNTS_MAX = 100_000;
/** The network file is small JSON; anything larger is a mistake or an attack. */
export const NETWORK_FILE_SIZE_BYTES_MAX = 8 * 1024 * 1024;
/** The data directory's lock file holds a pid in decimal (at most 10 digits); more is not ours. */
export const LOCK_FILE_SIZE_BYTES_MAX = 32;

/** HTTP request bodies: a payment in JSON is ~300 bytes; 4 KiB leaves room and nothing more. */
export const HTTP_BODY_SIZE_BYTES_MAX = 4096;
/**
 * Payments checked and waiting (for a signature check or the next commit group); past this the
 * node answers OVERLOADED instead of queueing, and an OVERLOADED payment is never applied. With
 * its bytes, decoded fields and answer callbacks a pending payment holds about 1 KiB, so the queue
 * holds at most ~64 MiB.
 */
export const PENDING_PAYMENTS_MAX = 65_536;
/**
 * Pending payments from one source address (UDP or HTTP peer address). One sender cannot fill the
 * queue: the benchmark's client keeps 256 in flight; 4,096 is a busy shop's till and more.
 */
export const PENDING_PER_SOURCE_MAX = 4_096;
/**
 * Pending payments of one payer. An honest payer waits for each answer; a flood signed by one
 * funded key is held to this many at a time.
 */
export const PENDING_PER_PAYER_MAX = 256;
/**
 * Answers waiting on one pending payment: the first submission plus retransmissions of the very
 * same bytes that arrived while it was checked. Beyond, a retransmission is answered IN_PROGRESS.
 */
export const PENDING_WAITERS_MAX = 8;
/** A commit group closes at this many payments even if more are waiting, to bound reply latency. */
export const COMMIT_GROUP_PAYMENTS_MAX = 4096;
/** Transactions per page of GET /accounts/:id/transactions. */
export const TRANSACTIONS_PAGE_DEFAULT = 50;
export const TRANSACTIONS_PAGE_MAX = 500;

/** Client: how long to wait for a UDP reply before sending the same bytes again, and how often. */
export const PAY_RETRANSMIT_INTERVAL_MS = 250;
export const PAY_RETRANSMITS_MAX = 20;
/** Client: HTTP request timeout. */
export const CLIENT_HTTP_TIMEOUT_MS = 5_000;

// ---- Server-to-server requests (/peer/*) --------------------------------------------------------

/**
 * A signed peer request is good for this long past the network's skew: time for a large handover
 * to cross a slow link. Beyond, it is refused as stale (or from a clock far off).
 */
export const PEER_REQUEST_TRANSIT_MS_MAX = 10_000;
/** Requests from one peer being answered at once; more are refused (503) until some finish. */
export const PEER_REQUESTS_IN_FLIGHT_MAX = 16;
/**
 * Messages this server has in flight to one peer; relays beyond are dropped (the handover carries
 * them anyway). Half the receiver's bound, so certificate pulls and resyncs still get through.
 */
export const PEER_SENDS_IN_FLIGHT_MAX = PEER_REQUESTS_IN_FLIGHT_MAX / 2;
/** Resync answers (GET /peer/payments) being streamed at once, from all peers together. */
export const RESYNC_ANSWERS_IN_FLIGHT_MAX = 2;
/** Rows (window i64 + 140-byte payment) streamed per chunk of a resync answer. */
export const RESYNC_ROWS_PER_CHUNK = 1_000;
/**
 * HTTP: seconds a connection may send and receive nothing before the node closes it. The longest
 * silence a legitimate request needs is the peer clock read behind the status page (1 s) or a
 * commit wait (well under a second); a kept-alive status page asks every 2 s. Bun checks its timers
 * every 4 s, so a silent connection goes after 5 to 8 s. (A first request whose head is not
 * complete is closed by Bun itself after about 10 s, however slowly it trickles in.)
 */
export const HTTP_IDLE_TIMEOUT_S = 5;
/**
 * HTTP: public requests one client address may have in flight (received, not yet answered); more
 * are answered 503 OVERLOADED at once. A wallet has one open; the benchmark 64; a NAT in front of a
 * few dozen people a few. 128 leaves room for all of those and keeps one address from holding the
 * node's sockets with slow uploads.
 */
export const HTTP_REQUESTS_IN_FLIGHT_PER_ADDRESS_MAX = 128;
/**
 * HTTP: requests under /peer/ one address may have in flight, counted apart from the public ones so
 * that a busy public address never crowds out the servers' own traffic. A peer has a few open at
 * once (a broadcast, a certificate pull, a resync); 64 leaves room for a devnet's servers sharing
 * one address.
 */
export const HTTP_PEER_REQUESTS_IN_FLIGHT_PER_ADDRESS_MAX = 64;
/** HTTP: a Host header is a DNS name (at most 253 characters) or an IP literal, and a port. */
export const HTTP_HOST_LENGTH_MAX = 261;
