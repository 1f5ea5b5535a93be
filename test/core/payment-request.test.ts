// The payment request URI (scryp:<payee>?amount=N): one spelling per request, every deviation refused.
import { describe, expect, test } from "bun:test";
import { formatPaymentRequest, isPaymentRequestText, parsePaymentRequest, PAYMENT_REQUEST_LENGTH_MAX } from "../../src/core/payment-request.ts";
import { AssertionError } from "../../src/core/assert.ts";

const PAYEE = "ae647b68b83970dd36b83e7bf195963c06bc733271f76f951bdecc2f3d18385b";

describe("round trip", () => {
  test.each([1, 2, 250, 1_000_000, 0xffff_ffff])("amount %d: format then parse gives the request back, parse then format the text", (amount) => {
    const text = formatPaymentRequest({ payee: PAYEE, amount });
    expect(text).toBe(`scryp:${PAYEE}?amount=${amount}`);
    const parsed = parsePaymentRequest(text);
    expect(parsed).toEqual({ ok: true, request: { payee: PAYEE, amount } });
    if (parsed.ok) expect(formatPaymentRequest(parsed.request)).toBe(text);
  });

  test("every payee of 64 lowercase hex digits", () => {
    for (const payee of ["0".repeat(64), "f".repeat(64), "0123456789abcdef".repeat(4)]) {
      expect(parsePaymentRequest(formatPaymentRequest({ payee, amount: 7 }))).toEqual({ ok: true, request: { payee, amount: 7 } });
    }
  });
});

describe("refusals: each with a plain message", () => {
  const cases: [string, string, string][] = [
    ["no scheme", `${PAYEE}?amount=1`, 'must start with "scryp:"'],
    ["an uppercase scheme", `SCRYP:${PAYEE}?amount=1`, 'must start with "scryp:"'],
    ["another scheme", `bitcoin:${PAYEE}?amount=1`, 'must start with "scryp:"'],
    ["the // form", `scryp://${PAYEE}?amount=1`, "64 lowercase hex"],
    ["uppercase hex", `scryp:${PAYEE.toUpperCase()}?amount=1`, "64 lowercase hex"],
    ["63 hex digits", `scryp:${PAYEE.slice(1)}?amount=1`, "64 lowercase hex"],
    ["65 hex digits", `scryp:${PAYEE}a?amount=1`, "64 lowercase hex"],
    ["a non-hex digit", `scryp:${"g".repeat(64)}?amount=1`, "64 lowercase hex"],
    ["no payee", "scryp:?amount=1", "64 lowercase hex"],
    ["no amount", `scryp:${PAYEE}`, "no amount"],
    ["an empty query", `scryp:${PAYEE}?`, "unknown parameter ''"],
    ["amount without a value", `scryp:${PAYEE}?amount`, "amount has no value"],
    ["an empty amount", `scryp:${PAYEE}?amount=`, "whole number"],
    ["amount 0", `scryp:${PAYEE}?amount=0`, "whole number of scryp from 1"],
    ["a leading zero", `scryp:${PAYEE}?amount=0250`, "without leading zeros"],
    ["a negative amount", `scryp:${PAYEE}?amount=-1`, "whole number"],
    ["a fraction", `scryp:${PAYEE}?amount=1.5`, "whole number"],
    ["an exponent", `scryp:${PAYEE}?amount=1e3`, "whole number"],
    ["spaces", `scryp:${PAYEE}?amount= 1`, "whole number"],
    ["percent-encoding", `scryp:${PAYEE}?amount=%31`, "whole number"],
    ["2^32", `scryp:${PAYEE}?amount=4294967296`, "at most 4294967295"],
    ["11 digits", `scryp:${PAYEE}?amount=10000000000`, "whole number"],
    ["amount twice", `scryp:${PAYEE}?amount=1&amount=1`, "more than once"],
    ["an unknown parameter", `scryp:${PAYEE}?amount=1&label=rent`, "unknown parameter 'label'"],
    ["an unknown parameter first", `scryp:${PAYEE}?memo=x&amount=1`, "unknown parameter 'memo'"],
    ["a parameter in another case", `scryp:${PAYEE}?Amount=1`, "unknown parameter 'Amount'"],
    ["a trailing &", `scryp:${PAYEE}?amount=1&`, "unknown parameter ''"],
    ["a fragment", `scryp:${PAYEE}?amount=1#x`, "whole number"],
    ["too long", `scryp:${PAYEE}?amount=1&${"x".repeat(PAYMENT_REQUEST_LENGTH_MAX)}`, `longer than ${PAYMENT_REQUEST_LENGTH_MAX} characters`],
    ["empty", "", 'must start with "scryp:"'],
  ];
  test.each(cases)("%s", (_name, text, fragment) => {
    const parsed = parsePaymentRequest(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.message).toContain(fragment);
  });

  test("format refuses what parse would refuse (a bug of the caller)", () => {
    for (const request of [
      { payee: PAYEE, amount: 0 },
      { payee: PAYEE, amount: 1.5 },
      { payee: PAYEE, amount: 2 ** 32 },
      { payee: PAYEE, amount: -1 },
      { payee: PAYEE, amount: Number.NaN },
      { payee: PAYEE.toUpperCase(), amount: 1 },
      { payee: "abc", amount: 1 },
    ]) {
      expect(() => formatPaymentRequest(request)).toThrow(AssertionError);
    }
  });
});

test("isPaymentRequestText tells a request (any case of the scheme) from an account id", () => {
  expect(isPaymentRequestText(`scryp:${PAYEE}?amount=1`)).toBe(true);
  expect(isPaymentRequestText(`SCRYP:${PAYEE}`)).toBe(true);
  expect(isPaymentRequestText(PAYEE)).toBe(false);
});
