// A verification worker: checks payment signatures off the node's main thread, so verifying the
// next payments overlaps committing the previous ones. Input: N payments of 140 bytes in one
// buffer; output: N bytes, 1 where the signature is valid (core/verify.ts, strict RFC 8032).
import { verifyNative } from "../core/verify.ts";
import { PAYMENT_SIGNED_BYTES, PAYMENT_SIZE_BYTES } from "../core/limits.ts";

declare const self: Worker;

export interface VerifyRequest {
  readonly id: number;
  readonly payments: ArrayBuffer;
}

export interface VerifyResponse {
  readonly id: number;
  readonly valid: ArrayBuffer;
}

self.onmessage = (event: MessageEvent<VerifyRequest>) => {
  const { id, payments } = event.data;
  const bytes = new Uint8Array(payments);
  const count = bytes.length / PAYMENT_SIZE_BYTES;
  const valid = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const p = bytes.subarray(i * PAYMENT_SIZE_BYTES, (i + 1) * PAYMENT_SIZE_BYTES);
    valid[i] = verifyNative(p.subarray(PAYMENT_SIGNED_BYTES), p.subarray(0, PAYMENT_SIGNED_BYTES), p.subarray(44, 76)) ? 1 : 0;
  }
  const response: VerifyResponse = { id, valid: valid.buffer };
  self.postMessage(response, [valid.buffer]);
};
