// The ledger's state hash: one 32-byte value that is identical on every server holding the same
// balances, whatever order the accounts appeared in, and cheap to keep current.
//
// It is an additive multiset hash: the sum, modulo 2^256, of one leaf per account with a non-zero
// balance, leaf = SHA-256("scryp/account/v1" | id (32) | balance (4, big-endian)). A payment
// changes two balances, so it costs four leaf hashes (subtract the old leaves, add the new), not a
// pass over the ledger. Accounts at zero contribute nothing: an account exists only while its
// balance is above 0, so taking a balance to 0 removes its leaf, and a ledger file from before that
// rule (holding rows at 0) has the same hash as one without them.
import { KEY_BYTES } from "./limits.ts";
import { toHex } from "./bytes.ts";

const LEAF_DOMAIN = new TextEncoder().encode("scryp/account/v1");
const LIMBS = 8; // 8 × 32-bit limbs, little-endian limb order
const leafInput = new Uint8Array(LEAF_DOMAIN.length + KEY_BYTES + 4);
leafInput.set(LEAF_DOMAIN, 0);
const leafView = new DataView(leafInput.buffer);
const leafOut = new Uint8Array(32);

function leaf(id: Uint8Array, balance: number): Uint8Array {
  leafInput.set(id, LEAF_DOMAIN.length);
  leafView.setUint32(LEAF_DOMAIN.length + KEY_BYTES, balance, false);
  Bun.SHA256.hash(leafInput, leafOut);
  return leafOut;
}

export class StateHash {
  /** limbs[0] is the least significant 32 bits of the big-endian 256-bit sum. */
  private readonly limbs = new Uint32Array(LIMBS);

  static fromBytes(bytes: Uint8Array): StateHash {
    if (bytes.length !== 32) throw new RangeError("a state hash is 32 bytes");
    const h = new StateHash();
    const view = new DataView(bytes.buffer, bytes.byteOffset, 32);
    for (let i = 0; i < LIMBS; i++) h.limbs[i] = view.getUint32((LIMBS - 1 - i) * 4, false);
    return h;
  }

  /** Records that account `id` went from `before` to `after` (either may be 0: no account). */
  change(id: Uint8Array, before: number, after: number): void {
    if (before === after) return;
    if (before !== 0) this.addLeaf(leaf(id, before), -1);
    if (after !== 0) this.addLeaf(leaf(id, after), +1);
  }

  private addLeaf(leafBytes: Uint8Array, sign: 1 | -1): void {
    const view = new DataView(leafBytes.buffer, leafBytes.byteOffset, 32);
    let carry = 0;
    for (let i = 0; i < LIMBS; i++) {
      const l = view.getUint32((LIMBS - 1 - i) * 4, false);
      const sum = this.limbs[i]! + sign * l + carry;
      // sum is in (-2^33, 2^33): carry is -1, 0 or 1.
      carry = Math.floor(sum / 0x1_0000_0000);
      this.limbs[i] = sum - carry * 0x1_0000_0000;
    }
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(32);
    const view = new DataView(out.buffer);
    for (let i = 0; i < LIMBS; i++) view.setUint32((LIMBS - 1 - i) * 4, this.limbs[i]!, false);
    return out;
  }

  hex(): string {
    return toHex(this.bytes());
  }

  clone(): StateHash {
    return StateHash.fromBytes(this.bytes());
  }
}

/** The hash of a whole set of balances, computed from scratch (for checks and tests). */
export function stateHashOf(balances: Iterable<[Uint8Array, number]>): StateHash {
  const h = new StateHash();
  for (const [id, balance] of balances) h.change(id, 0, balance);
  return h;
}
