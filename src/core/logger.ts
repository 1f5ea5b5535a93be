// The logging interface the core writes to; adapters decide where lines go (node/log.ts).
export type Component = "keys" | "coordinator" | "payments" | "ledger" | "peers" | "http" | "udp" | "node";

export interface Logger {
  info(component: Component, message: string, fields?: Record<string, unknown>): void;
  warn(component: Component, message: string, fields?: Record<string, unknown>): void;
  error(component: Component, message: string, fields?: Record<string, unknown>): void;
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
