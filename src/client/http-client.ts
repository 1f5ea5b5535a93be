// Small fetch helpers for the client subcommands: bounded by a timeout, errors in plain words.
import { CLIENT_HTTP_TIMEOUT_MS } from "../core/limits.ts";

export class UnreachableError extends Error {
  override name = "UnreachableError";
}

export interface HttpAnswer {
  readonly status: number;
  readonly json: unknown;
}

export async function requestJson(url: string, init: RequestInit = {}): Promise<HttpAnswer> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(CLIENT_HTTP_TIMEOUT_MS) });
  } catch (e) {
    throw new UnreachableError(`cannot reach ${url}: ${(e as Error).message}`);
  }
  let json: unknown = null;
  try {
    json = await response.json();
  } catch {
    json = null;
  }
  return { status: response.status, json };
}

/** The {"error":{"code","message"}} of an answer, if it is one. */
export function errorOf(json: unknown): { code: string; message: string } | null {
  if (typeof json !== "object" || json === null) return null;
  const error = (json as { error?: unknown }).error;
  if (typeof error !== "object" || error === null) return null;
  const { code, message } = error as { code?: unknown; message?: unknown };
  return typeof code === "string" && typeof message === "string" ? { code, message } : null;
}
