// The key of every per-source bound: the HTTP in-flight budget and the intake's pending payments per
// source, over HTTP and UDP alike.
/**
 * The budget key of a client address. IPv4 addresses (also IPv4-mapped IPv6) count alone; IPv6 by
 * their /64, the block one customer gets, so that one machine cannot take a fresh budget for each
 * of its 2^64 addresses.
 */
export function clientAddressKey(address: string | null | undefined): string {
  if (address === null || address === undefined || address === "") return "unknown";
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped !== null) return mapped[1]!;
  if (!address.includes(":")) return address;
  const halves = address.split("%")[0]!.toLowerCase().split("::");
  if (halves.length > 2) return address;
  const head = halves[0] ? halves[0].split(":") : [];
  const tail = halves[1] ? halves[1].split(":") : [];
  const zeros = halves.length === 2 ? Math.max(0, 8 - head.length - tail.length) : 0;
  const groups = [...head, ...Array<string>(zeros).fill("0"), ...tail].slice(0, 4);
  return `${groups.map((g) => g.replace(/^0+(?=.)/, "")).join(":")}::/64`;
}
