// Reading a network file from disk. Validation itself is in core/network.ts.
import { NetworkFileError, parseNetworkText, type Network } from "../core/network.ts";
import { NETWORK_FILE_SIZE_BYTES_MAX } from "../core/limits.ts";
import { FileReadError, readRegularFile } from "./regular-file.ts";

export function readNetworkFile(path: string): Network {
  let bytes: Buffer;
  try {
    // A regular file of bounded size: a FIFO, a directory or /dev/zero is refused, not read.
    bytes = readRegularFile(path, NETWORK_FILE_SIZE_BYTES_MAX);
  } catch (e) {
    if (e instanceof FileReadError) throw new NetworkFileError("(file)", `cannot read ${path}: it ${e.reason}`);
    throw e;
  }
  return parseNetworkText(bytes.toString("utf8"));
}
