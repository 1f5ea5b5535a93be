// Supply conservation under hundreds of random payments (seeded, reproducible), checked against a
// simple model, with the incremental state hash compared to one recomputed from scratch.
import { afterEach, expect, test } from "bun:test";
import { decodePayment, signedPart, type Payment } from "../../src/core/payment.ts";
import { stateHashOf } from "../../src/core/state-hash.ts";
import { SUPPLY } from "../../src/core/limits.ts";
import { toHex } from "../../src/core/bytes.ts";
import type { LedgerDecision } from "../../src/core/acceptance.ts";
import type { Ledger } from "../../src/ledger/ledger.ts";
import { T0, diskSnapshot, genesisOf, keyPairs, openTempLedger, prng, signedPayment, type TempLedger } from "./fixtures.ts";

const ACCOUNTS = 20;
const PAYMENTS = 600;
const people = keyPairs(ACCOUNTS);
const ids = people.map((k) => k.publicKey);

let t: TempLedger | undefined;
afterEach(() => {
  t?.cleanup();
  t = undefined;
});

function recomputedHash(ledger: Ledger): string {
  return stateHashOf(ids.map((id) => [id, ledger.balance(id) ?? 0] as [Uint8Array, number])).hex();
}

test.each([1, 2, 3])("random payments among 20 accounts conserve the supply and the state hash (seed %d)", (seed) => {
  const rng = prng(0x5c4e_0000 + seed);
  // Account 0 is rich (most of the supply), 1..14 modest, 15..19 start without an account.
  const genesisEntries: [Uint8Array, number][] = [[ids[0]!, SUPPLY - 14 * 5_000]];
  for (let i = 1; i < 15; i++) genesisEntries.push([ids[i]!, 5_000]);
  t = openTempLedger(genesisOf(genesisEntries));
  const { ledger } = t;
  expect(ledger.totals().supply).toBe(SUPPLY);

  const model = new Map<string, number>(genesisEntries.map(([id, b]) => [toHex(id), b]));
  const acceptedBySigned = new Map<string, string>(); // signed part hex -> full bytes hex
  const history: Payment[] = [];
  const counts = { apply: 0, "already-accepted": 0, UNKNOWN_PAYER: 0, INSUFFICIENT_BALANCE: 0, DUPLICATE: 0 } as Record<string, number>;

  let made = 0;
  let groupNo = 0;
  while (made < PAYMENTS) {
    const size = rng.int(1, 40);
    const group: Payment[] = [];
    for (let j = 0; j < size && made < PAYMENTS; j++, made++) {
      const roll = rng.next();
      if (roll < 0.04 && history.length > 0) {
        group.push(history[rng.int(0, history.length - 1)]!); // retransmission of identical bytes
        continue;
      }
      if (roll < 0.07 && history.length > 0) {
        // same first 76 bytes, different signature bytes: the ledger does not verify, it dedupes
        const orig = history[rng.int(0, history.length - 1)]!;
        const twin = new Uint8Array(orig.bytes);
        twin[139] = twin[139]! ^ 0x01;
        group.push(decodePayment(twin)!);
        continue;
      }
      const from = rng.int(0, ACCOUNTS - 1);
      let to = rng.int(0, ACCOUNTS - 2);
      if (to >= from) to++;
      const have = model.get(toHex(ids[from]!)) ?? 0;
      const mode = rng.next();
      const amount =
        mode < 0.6 ? rng.int(1, 6_000)
        : mode < 0.75 ? Math.max(1, have) // exactly everything
        : mode < 0.85 ? have + 1 // one too many
        : rng.int(1, 2 ** 31); // big: only the rich account manages
      const p = decodePayment(signedPayment(people[from]!, ids[to]!, Math.min(amount, 0xffff_ffff), T0 + made))!;
      group.push(p);
      history.push(p);
    }

    // What the model expects, in order, with earlier payments of the group visible.
    const expected: LedgerDecision[] = [];
    for (const p of group) {
      const sp = toHex(signedPart(p.bytes));
      const seen = acceptedBySigned.get(sp);
      const payer = toHex(p.payer);
      const payee = toHex(p.payee);
      const bal = model.get(payer);
      if (seen !== undefined) expected.push(seen === toHex(p.bytes) ? { kind: "already-accepted" } : { kind: "reject", code: "DUPLICATE" });
      else if (bal === undefined || bal === 0) expected.push({ kind: "reject", code: "UNKNOWN_PAYER" });
      else if (bal < p.amount) expected.push({ kind: "reject", code: "INSUFFICIENT_BALANCE" });
      else {
        expected.push({ kind: "apply" });
        // An account exists while its balance is above 0: the model drops an emptied payer too.
        if (bal === p.amount) model.delete(payer);
        else model.set(payer, bal - p.amount);
        model.set(payee, (model.get(payee) ?? 0) + p.amount);
        acceptedBySigned.set(sp, toHex(p.bytes));
      }
    }
    const decisions = ledger.applyGroup(group, groupNo, T0 + groupNo);
    expect(decisions).toEqual(expected);
    for (const d of decisions) counts[d.kind === "reject" ? d.code : d.kind]!++;

    const totals = ledger.totals();
    expect(totals.supply).toBe(SUPPLY);
    expect(totals.payments).toBe(acceptedBySigned.size);
    if (groupNo % 5 === 0) expect(totals.stateHash).toBe(recomputedHash(ledger));
    groupNo++;
  }

  // The run exercised every branch, not just the happy path.
  for (const k of Object.keys(counts)) expect(counts[k]!).toBeGreaterThan(0);
  expect(counts.apply!).toBeGreaterThan(200);

  const balancesNow = ids.map((id) => ledger.balance(id));
  expect(balancesNow).toEqual(ids.map((id) => model.get(toHex(id))));
  const hashNow = recomputedHash(ledger);
  expect(ledger.stateHashHex()).toBe(hashNow);
  expect(ledger.totals().accounts).toBe(model.size);

  // After close + reopen: the same, checked again by the ledger's own load-time invariants too.
  const reopened = t.reopen();
  expect(ids.map((id) => reopened.balance(id))).toEqual(balancesNow);
  expect(reopened.totals()).toEqual({ accounts: model.size, payments: acceptedBySigned.size, supply: SUPPLY, stateHash: hashNow });
  expect(recomputedHash(reopened)).toBe(hashNow);

  reopened.close();
  const disk = diskSnapshot(t.path);
  expect(disk.stateHash).toBe(hashNow);
  expect(disk.payments).toBe(acceptedBySigned.size);
  expect(disk.accounts.reduce((sum, [, b]) => sum + b, 0)).toBe(SUPPLY);
  // No row at 0, and exactly the model's accounts on disk.
  expect(disk.accounts.every(([, b]) => b > 0)).toBe(true);
  expect(disk.accounts.length).toBe(model.size);
});
