// A strict reader of the Prometheus text exposition format (0.0.4), for the /metrics tests: it throws
// on any line that is not a HELP, a TYPE or a sample, on a sample before its family's TYPE, on a
// family declared twice, and on histogram buckets that are not cumulative or do not end at +Inf.

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const LABEL_NAME = "[a-zA-Z_][a-zA-Z0-9_]*";
const LABEL_VALUE = '(?:[^"\\\\\\n]|\\\\[\\\\"n])*';
const VALUE = "(?:[-+]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][-+]?\\d+)?|[-+]?Inf|NaN)";
const HELP_LINE = new RegExp(`^# HELP (${NAME}) (.*)$`);
const TYPE_LINE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);
const SAMPLE_LINE = new RegExp(`^(${NAME})(?:\\{((?:${LABEL_NAME}="${LABEL_VALUE}")(?:,${LABEL_NAME}="${LABEL_VALUE}")*)\\})? (${VALUE})$`);
const LABEL = new RegExp(`(${LABEL_NAME})="(${LABEL_VALUE})"`, "g");

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Family {
  readonly type: string;
  help: string | null;
  readonly samples: Sample[];
}

function parseValue(text: string): number {
  if (text === "NaN") return NaN;
  if (/^[-+]?Inf$/.test(text)) return text.startsWith("-") ? -Infinity : Infinity;
  return Number(text);
}

function unescape(value: string): string {
  return value.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
}

/** The family a sample belongs to: its own name, or a histogram's name without _bucket/_sum/_count. */
function familyOf(name: string, families: Map<string, Family>): string | undefined {
  if (families.has(name)) return name;
  const m = /^(.*)_(bucket|sum|count)$/.exec(name);
  if (m && families.get(m[1]!)?.type === "histogram") return m[1];
  return undefined;
}

export function parsePrometheusText(text: string): Map<string, Family> {
  if (!text.endsWith("\n")) throw new Error("the exposition must end with a newline");
  const families = new Map<string, Family>();
  const helps = new Map<string, string>();
  let current: string | null = null;
  const lines = text.slice(0, -1).split("\n");
  lines.forEach((line, i) => {
    const where = `line ${i + 1}: ${JSON.stringify(line)}`;
    let m: RegExpExecArray | null;
    if ((m = HELP_LINE.exec(line))) {
      if (helps.has(m[1]!)) throw new Error(`${where}: second HELP for ${m[1]}`);
      helps.set(m[1]!, m[2]!);
      return;
    }
    if ((m = TYPE_LINE.exec(line))) {
      if (families.has(m[1]!)) throw new Error(`${where}: second TYPE for ${m[1]}`);
      families.set(m[1]!, { type: m[2]!, help: helps.get(m[1]!) ?? null, samples: [] });
      current = m[1]!;
      return;
    }
    if ((m = SAMPLE_LINE.exec(line))) {
      const family = familyOf(m[1]!, families);
      if (family === undefined) throw new Error(`${where}: sample before its family's TYPE`);
      if (family !== current) throw new Error(`${where}: sample of ${family} after another family started`);
      const labels: Record<string, string> = {};
      for (const [, k, v] of (m[2] ?? "").matchAll(LABEL)) {
        if (k! in labels) throw new Error(`${where}: label ${k} twice`);
        labels[k!] = unescape(v!);
      }
      families.get(family)!.samples.push({ name: m[1]!, labels, value: parseValue(m[3]!) });
      return;
    }
    throw new Error(`${where}: not a valid Prometheus text line`);
  });
  for (const [name, f] of families) {
    if (f.samples.length === 0) throw new Error(`${name}: a family without samples`);
    if (f.type === "histogram") checkHistogram(name, f);
  }
  return families;
}

function checkHistogram(name: string, f: Family): void {
  const buckets = f.samples.filter((s) => s.name === `${name}_bucket`);
  const count = f.samples.find((s) => s.name === `${name}_count`);
  const sum = f.samples.find((s) => s.name === `${name}_sum`);
  if (!count || !sum || buckets.length === 0) throw new Error(`${name}: a histogram needs _bucket, _sum and _count`);
  let previousBound = -Infinity;
  let previousCount = 0;
  for (const b of buckets) {
    const bound = parseValue(b.labels.le ?? "missing");
    if (!(bound > previousBound)) throw new Error(`${name}: bucket bounds must ascend (le=${b.labels.le})`);
    if (b.value < previousCount) throw new Error(`${name}: bucket counts must be cumulative (le=${b.labels.le})`);
    previousBound = bound;
    previousCount = b.value;
  }
  if (previousBound !== Infinity) throw new Error(`${name}: the last bucket must be le="+Inf"`);
  if (previousCount !== count.value) throw new Error(`${name}: the +Inf bucket (${previousCount}) must equal _count (${count.value})`);
}

/** The value of one sample, by name and labels; throws when it is absent. */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name !== name) continue;
      const keys = Object.keys(s.labels);
      if (keys.length === Object.keys(labels).length && keys.every((k) => s.labels[k] === labels[k])) return s.value;
    }
  }
  throw new Error(`no sample ${name}${JSON.stringify(labels)}`);
}
