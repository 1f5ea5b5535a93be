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

/** A network is a handful of community servers; more would make every handover a broadcast storm. */
export const SERVERS_MAX = 64;
/** Genesis is hand-written by the network's founders; a bound keeps the file reviewable and loading fast. */
export const GENESIS_ACCOUNTS_MAX = 100_000;
/** The network file is small JSON; anything larger is a mistake or an attack. */
export const NETWORK_FILE_SIZE_BYTES_MAX = 8 * 1024 * 1024;

/** HTTP request bodies: a payment in JSON is ~300 bytes; 4 KiB leaves room and nothing more. */
export const HTTP_BODY_SIZE_BYTES_MAX = 4096;
/** Payments waiting for the next commit group; past this the node answers OVERLOADED instead of queueing. */
export const PENDING_PAYMENTS_MAX = 65_536;
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
