// Hex and byte helpers shared by every format. Text forms are always lowercase hex.

const HEX_PATTERN = /^[0-9a-f]*$/;

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/** Decodes lowercase hex of exactly `lengthBytes` bytes, or returns null. */
export function fromHex(text: string, lengthBytes: number): Uint8Array | null {
  if (text.length !== lengthBytes * 2 || !HEX_PATTERN.test(text)) return null;
  return new Uint8Array(Buffer.from(text, "hex"));
}

/** Bytes as a string of the same length (latin1): a cheap, exact Map or Set key. */
export function bytesKey(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function sha256(bytes: Uint8Array): Uint8Array {
  return Bun.SHA256.hash(bytes) as Uint8Array;
}

/** The parts one after another, in a new array. */
export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
