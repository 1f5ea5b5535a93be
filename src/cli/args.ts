// Argument parsing for every subcommand: node:util parseArgs (strict) for the shape, valibot for
// the values. Any mistake is a UsageError: one line, exit status 2.
import { parseArgs, type ParseArgsConfig } from "node:util";
import * as v from "valibot";

export class UsageError extends Error {
  override name = "UsageError";
}

type Options = NonNullable<ParseArgsConfig["options"]>;

const HELP = { help: { type: "boolean", short: "h" } } as const;

export function parse<T extends Options>(argv: string[], options: T, positionalsMax: number) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...options, ...HELP }, allowPositionals: true, strict: true });
  } catch (e) {
    // parseArgs messages are long and mention internals; keep the useful first sentence.
    const first = (e as Error).message.split(". ")[0]!.replace(/^TypeError.*?: /, "");
    throw new UsageError(first.charAt(0).toLowerCase() + first.slice(1));
  }
  if (parsed.positionals.length > positionalsMax) throw new UsageError(`unexpected argument '${parsed.positionals[positionalsMax]}'`);
  return parsed;
}

/** Validates one value with a valibot schema; the error names the flag or argument. */
export function value<S extends v.GenericSchema>(schema: S, input: unknown, name: string): v.InferOutput<S> {
  const result = v.safeParse(schema, input);
  if (!result.success) throw new UsageError(`${name}: ${result.issues[0].message}`);
  return result.output;
}

export const PortSchema = v.pipe(
  v.string(),
  v.regex(/^\d{1,5}$/, "must be a port number"),
  v.transform(Number),
  v.minValue(1, "must be 1 to 65535"),
  v.maxValue(65535, "must be 1 to 65535"),
);
export const KeyHexSchema = v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/, "must be an account id: 64 lowercase hex digits"));
export const AmountSchema = v.pipe(
  v.string(),
  v.regex(/^\d{1,10}$/, "must be a whole number of scryp"),
  v.transform(Number),
  v.minValue(1, "must be at least 1"),
  v.maxValue(0xffff_ffff, "must be at most 4294967295"),
);
export const UrlSchema = v.pipe(
  v.string(),
  v.url("must be a URL such as http://127.0.0.1:7400"),
  v.check((u) => /^https?:\/\//.test(u), "must start with http:// or https://"),
);
export const NonEmptySchema = v.pipe(v.string(), v.minLength(1, "must not be empty"));
export const LogFormatSchema = v.picklist(["text", "json"], "must be text or json");
