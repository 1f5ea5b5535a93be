// Stable error codes. Other programs match on these strings (HTTP JSON, UDP replies, CLI output):
// never rename one, only add. The UDP reply carries the numeric tag, so tags are fixed too.

export const ERROR_CODES = {
  // Payment format and acceptance rules, in the order they are checked.
  PAYMENT_SIZE: 1, // not exactly 140 bytes
  AMOUNT_ZERO: 2,
  SELF_PAYMENT: 3, // payer equals payee
  TIMESTAMP_SKEW: 4, // timestamp further than skew from the node's clock
  SIGNATURE_INVALID: 5,
  DUPLICATE: 6, // a different payment with the same first 76 bytes was accepted
  UNKNOWN_PAYER: 7, // payer has no account
  INSUFFICIENT_BALANCE: 8,
  // The node's own state.
  NOT_ACCEPTING: 9, // this node is not the alpha now (or is in its blackout)
  OVERLOADED: 10, // commit queue full; try again shortly
  INTERNAL: 11,
  // HTTP and CLI input.
  BAD_REQUEST: 12,
  NOT_FOUND: 13,
  BODY_TOO_LARGE: 14,
  INVALID_ID: 15,
  // Peers (server-to-server).
  PEER_REJECTED: 16,
  // Added later (tags are never reused).
  IN_PROGRESS: 17, // the very same payment is being checked now; its outcome is not known yet
  PEER_UNAUTHORIZED: 18, // a /peer request not signed by a server of the network
  WINDOW_FULL: 19, // the window holds the network's capacity of payments; the next alpha accepts
  STORAGE_FAILING: 20, // the node cannot write its ledger (full disk, I/O error); it resumes by itself
  NOT_KEPT: 21, // committed here, but its window closed before a majority of servers held it: not kept here
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

const CODE_BY_TAG = new Map<number, ErrorCode>(
  Object.entries(ERROR_CODES).map(([code, tag]) => [tag, code as ErrorCode]),
);

export function errorCodeFromTag(tag: number): ErrorCode | undefined {
  return CODE_BY_TAG.get(tag);
}

/** Plain words for each code; the CLI prints these, HTTP puts them in `message`. */
export const ERROR_MESSAGES: Record<ErrorCode, string> = {
  PAYMENT_SIZE: "a payment is exactly 140 bytes",
  AMOUNT_ZERO: "the amount must be at least 1 scryp",
  SELF_PAYMENT: "the payer and the payee are the same account",
  TIMESTAMP_SKEW: "the payment's timestamp is too far from the server's clock (check your clock)",
  SIGNATURE_INVALID: "the signature does not match the payer's key",
  DUPLICATE: "a payment with the same timestamp, amount, payee and payer was already accepted",
  UNKNOWN_PAYER: "the payer has no account",
  INSUFFICIENT_BALANCE: "the payer's balance is lower than the amount",
  NOT_ACCEPTING: "this server is not accepting payments now",
  OVERLOADED: "the server is busy; try again shortly",
  INTERNAL: "the server failed; the payment was not accepted",
  BAD_REQUEST: "the request is malformed",
  NOT_FOUND: "not found",
  BODY_TOO_LARGE: "the request body is too large",
  INVALID_ID: "an id is 64 lowercase hex digits",
  PEER_REJECTED: "the peer message was rejected",
  IN_PROGRESS: "the very same payment is being checked now; ask again in a moment for its outcome",
  PEER_UNAUTHORIZED: "this route is for the network's servers; the request is not signed by one",
  WINDOW_FULL: "this window holds as many payments as the network allows; the next alpha accepts when its window starts",
  STORAGE_FAILING: "the server cannot write to its disk (full, or failing); the payment was not accepted, try again later",
  NOT_KEPT: "the server took the payment, but its window closed before a majority of the servers held it, and this server does not keep it; ask the network with `scryp tx ID` before paying again",
};

/** An operating error: expected, carries a stable code, changes nothing. */
export class ScrypError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string = ERROR_MESSAGES[code],
  ) {
    super(message);
    this.name = "ScrypError";
  }
}

/**
 * The ledger's storage failed (a full disk, an I/O error, any SQLite error on a write): the
 * operation did not happen, on disk or in memory. `fault` is true for a fault of the storage
 * itself (not a rule the data broke, such as a constraint): the node stops writing until a probe
 * shows the storage works again. `sqliteCode` is SQLite's name for it, for the operator's search.
 */
export class StorageError extends Error {
  override name = "StorageError";
  constructor(
    message: string,
    readonly fault: boolean,
    readonly sqliteCode: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
