// Reading a network file from disk. Validation itself is in core/network.ts.
import { readFileSync, statSync } from "node:fs";
import { NetworkFileError, parseNetworkText, type Network } from "../core/network.ts";
import { NETWORK_FILE_SIZE_BYTES_MAX } from "../core/limits.ts";

export function readNetworkFile(path: string): Network {
  let text: string;
  try {
    if (statSync(path).size > NETWORK_FILE_SIZE_BYTES_MAX) {
      throw new NetworkFileError("(file)", `larger than ${NETWORK_FILE_SIZE_BYTES_MAX} bytes`);
    }
    text = readFileSync(path, "utf8");
  } catch (e) {
    if (e instanceof NetworkFileError) throw e;
    throw new NetworkFileError("(file)", `cannot read ${path}: ${(e as Error).message}`);
  }
  return parseNetworkText(text);
}
