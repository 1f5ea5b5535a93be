// One line per event, tagged by component. Readable by default; JSON lines for machines.
import type { Component, Logger } from "../core/logger.ts";
export type { Component, Logger } from "../core/logger.ts";
export type LogFormat = "text" | "json";

export function createLogger(format: LogFormat, write: (line: string) => void = (l) => process.stderr.write(l + "\n")): Logger {
  const emit = (level: string, component: Component, message: string, fields?: Record<string, unknown>) => {
    const time = new Date().toISOString();
    if (format === "json") {
      write(JSON.stringify({ time, level, component, message, ...fields }));
      return;
    }
    const extra = fields ? " " + Object.entries(fields).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(" ") : "";
    write(`${time} ${level === "info" ? "" : level.toUpperCase() + " "}[${component}] ${message}${extra}`);
  };
  return {
    info: (c, m, f) => emit("info", c, m, f),
    warn: (c, m, f) => emit("warn", c, m, f),
    error: (c, m, f) => emit("error", c, m, f),
  };
}
