// The ledger's side of a window's capacity: applyGroup never lets a window hold more than
// `capacity` payments (payment number capacity + 1 is refused WINDOW_FULL), a retransmission or a
// duplicate keeps its own answer in a full window, and the kept per-window count follows commits,
// rollbacks, failed attempts and a reopen.
import { afterEach, describe, expect, test } from "bun:test";
import { decodePayment, type Payment } from "../../src/core/payment.ts";
import type { KeyPair } from "../../src/core/keys.ts";
import { T0, genesisOf, keyPairs, openTempLedger, signedPayment, type TempLedger } from "./fixtures.ts";

const [alice, bob, carol] = keyPairs(3) as [KeyPair, KeyPair, KeyPair];
const W = 42;
const pay = (from: KeyPair, to: KeyPair, amount: number, ts = T0): Payment => decodePayment(signedPayment(from, to.publicKey, amount, ts))!;

let open: TempLedger[] = [];
afterEach(() => {
  for (const t of open) t.cleanup();
  open = [];
});
function fresh(): TempLedger {
  const t = openTempLedger(genesisOf([[alice, 1_000], [bob, 1_000]]));
  open.push(t);
  return t;
}

describe("applyGroup with a capacity", () => {
  test("payments up to the capacity apply; number capacity + 1 is WINDOW_FULL, in one group and across groups", () => {
    const t = fresh();
    const group = [pay(alice, bob, 1), pay(alice, bob, 2), pay(alice, bob, 3), pay(alice, bob, 4)];
    expect(t.ledger.applyGroup(group, W, T0, 3).map((d) => d.kind === "reject" ? d.code : d.kind)).toEqual(["apply", "apply", "apply", "WINDOW_FULL"]);
    expect(t.ledger.windowPaymentCount(W)).toBe(3);
    expect(t.ledger.windowPayments(W)).toHaveLength(3);
    expect(t.ledger.balance(alice.publicKey)).toBe(1_000 - 6);
    // Another group in the same window: still full. Another window has its own room.
    expect(t.ledger.applyGroup([pay(bob, carol, 5)], W, T0, 3)).toEqual([{ kind: "reject", code: "WINDOW_FULL" }]);
    expect(t.ledger.applyGroup([pay(bob, carol, 5)], W + 1, T0, 3)).toEqual([{ kind: "apply" }]);
    expect(t.ledger.windowPaymentCount(W + 1)).toBe(1);
  });

  test("rejected payments take no room: the capacity counts what applies", () => {
    const t = fresh();
    const group = [pay(alice, bob, 5_000), pay(carol, bob, 1), pay(alice, bob, 1), pay(alice, bob, 2), pay(alice, bob, 3)];
    const codes = t.ledger.applyGroup(group, W, T0, 2).map((d) => (d.kind === "reject" ? d.code : d.kind));
    expect(codes).toEqual(["INSUFFICIENT_BALANCE", "UNKNOWN_PAYER", "apply", "apply", "WINDOW_FULL"]);
  });

  test("in a full window a retransmission is still already-accepted and a duplicate still DUPLICATE", () => {
    const t = fresh();
    const p = pay(alice, bob, 7);
    expect(t.ledger.applyGroup([p], W, T0, 1)).toEqual([{ kind: "apply" }]);
    expect(t.ledger.applyGroup([p], W, T0, 1)).toEqual([{ kind: "already-accepted" }]);
    const sameSigned = decodePayment(new Uint8Array([...p.bytes.subarray(0, 76), ...new Uint8Array(64).fill(3)]))!;
    expect(t.ledger.applyGroup([sameSigned], W, T0, 1)).toEqual([{ kind: "reject", code: "DUPLICATE" }]);
  });

  test("the count follows a rollback, a failed attempt and a reopen", () => {
    const t = fresh();
    t.ledger.applyGroup([pay(alice, bob, 1), pay(alice, bob, 2)], W, T0, 2);
    expect(t.ledger.windowPaymentCount(W)).toBe(2);
    // A failed attempt that undid and re-applied: everything back as it was.
    expect(t.ledger.attempt(() => (t.ledger.rollbackAfter(W - 1), t.ledger.applyGroup([pay(alice, bob, 9)], W, T0, 2), false))).toBe(false);
    expect(t.ledger.windowPaymentCount(W)).toBe(2);
    expect(t.ledger.applyGroup([pay(alice, bob, 3)], W, T0, 2)).toEqual([{ kind: "reject", code: "WINDOW_FULL" }]);
    // Undone: the room is back.
    t.ledger.rollbackAfter(W - 1);
    expect(t.ledger.windowPaymentCount(W)).toBe(0);
    expect(t.ledger.applyGroup([pay(alice, bob, 3)], W, T0, 2)).toEqual([{ kind: "apply" }]);
    // Reopened: counted again from the file.
    const reopened = t.reopen();
    expect(reopened.windowPaymentCount(W)).toBe(1);
    expect(reopened.applyGroup([pay(alice, bob, 4), pay(alice, bob, 5)], W, T0, 2).map((d) => d.kind)).toEqual(["apply", "reject"]);
  });

  test("without a capacity nothing is bounded (tests and tools)", () => {
    const t = fresh();
    expect(t.ledger.applyGroup([pay(alice, bob, 1), pay(alice, bob, 2)], W, T0).map((d) => d.kind)).toEqual(["apply", "apply"]);
  });
});
