// A node whose data directory fills up under load (a small tmpfs) keeps running: it answers
// STORAGE_FAILING and says why on /status, /metrics and the status page, never serves a state
// that is not on disk, and resumes by itself when the disk grows (mount -o remount,size=…). At the
// end the SQLite file, read by a separate connection, holds exactly what /status said.
import { afterAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { SUPPLY } from "../../src/core/limits.ts";
import { stateHashOf } from "../../src/core/state-hash.ts";
import { freePort, signedPayment, tempDir, testKeyPair, waitFor } from "../support/helpers.ts";
import { startBinaryNode, writeJson, type BinaryNode } from "../support/binary-node.ts";
import { canMountTmpfs, mountTmpfs, type Tmpfs } from "../support/tmpfs.ts";
import { HOST, SERVER, getJson, hexOf, writeSeed } from "./e2e-support.ts";

const dir = tempDir("scryp-e2e-disk-full-");
const mountable = canMountTmpfs(dir.path);
if (!mountable) console.warn("disk-full.test: mounting a tmpfs is not permitted here (needs root); skipped");
const disks: Tmpfs[] = [];
const nodes: BinaryNode[] = [];
afterAll(async () => {
  for (const n of nodes) if (n.process.exitCode === null) await n.kill("SIGKILL");
  for (const d of disks) d.unmount();
  dir.cleanup();
});

/** The small disk, KiB: the ledger and its WAL fill it within a few thousand payments. */
const SMALL_KIB = 3_072;
const LARGE_KIB = 131_072;
const PAYERS = Array.from({ length: 8 }, (_, i) => testKeyPair(40 + i));
const FUNDS = 100_000_000;

interface Load {
  accepted: number;
  codes: Map<string, number>;
  stop: boolean;
}

/** Payments of 1 to fresh payees from PAYERS, `concurrency` at a time, until load.stop. */
async function runLoad(url: string, load: Load, concurrency: number, startSeq: number): Promise<void> {
  let seq = startSeq;
  const worker = async () => {
    while (!load.stop) {
      const n = seq++;
      const payer = PAYERS[n % PAYERS.length]!;
      const payee = new Uint8Array(32).fill(0xab);
      new DataView(payee.buffer).setUint32(0, n);
      const bytes = signedPayment(payer, payee, 1, Date.now());
      try {
        const r = await fetch(`${url}/tx`, { method: "POST", headers: { "content-type": "application/octet-stream" }, body: bytes });
        const json = (await r.json()) as { status?: string; error?: { code: string } };
        if (r.status === 200 && json.status === "accepted") load.accepted++;
        else load.codes.set(json.error?.code ?? `HTTP ${r.status}`, (load.codes.get(json.error?.code ?? `HTTP ${r.status}`) ?? 0) + 1);
      } catch {
        load.codes.set("fetch failed", (load.codes.get("fetch failed") ?? 0) + 1);
        await Bun.sleep(20);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** What the file holds, read by a separate connection (the node stopped). */
function readFile(path: string) {
  const db = new Database(path, { readonly: true });
  try {
    const payments = db.query<{ n: number }, []>("SELECT count(*) AS n FROM payments").get()!.n;
    const supply = db.query<{ s: number }, []>("SELECT sum(balance) AS s FROM accounts").get()!.s;
    const accounts = db.query<{ n: number }, []>("SELECT count(*) AS n FROM accounts").get()!.n;
    // Not stored: the state hash is a pure function of the accounts table.
    const rows = db.query<{ id: Uint8Array; balance: number }, []>("SELECT id, balance FROM accounts").all();
    const stateHash = stateHashOf(rows.map((r) => [r.id, r.balance] as const)).hex();
    return { payments, accounts, supply, stateHash };
  } finally {
    db.close();
  }
}

describe.skipIf(!mountable)("a node whose disk fills under load (tmpfs)", () => {
  test("never exits, refuses with STORAGE_FAILING and says why, serves only what is on disk, and resumes when the disk grows", async () => {
    const disk = mountTmpfs(dir.path, "disk", SMALL_KIB)!;
    disks.push(disk);
    const port = await freePort();
    const genesis: Record<string, number> = { [hexOf(SERVER)]: SUPPLY - FUNDS * PAYERS.length };
    for (const p of PAYERS) genesis[hexOf(p)] = FUNDS;
    const networkPath = join(dir.path, "network.json");
    writeJson(networkPath, { servers: [{ key: hexOf(SERVER), address: `${HOST}:${port}` }], genesis });
    const seedPath = join(dir.path, "server.seed");
    writeSeed(seedPath, SERVER);
    const dataDir = join(disk.path, "data");
    const node = await startBinaryNode(dir.path, ["--network", networkPath, "--seed", seedPath, "--data", dataDir], port);
    nodes.push(node);
    const url = node.url;

    // Every /status seen: the supply is whole and the ledger never goes back.
    const seen: { payments: number; supply: number; ok: boolean }[] = [];
    const status = async () => {
      const { json } = await getJson(`${url}/status`);
      seen.push({ payments: json.ledger.payments, supply: json.ledger.supply, ok: json.storage.ok });
      return json;
    };

    // 1. Load until the disk is full and the node says so.
    const load: Load = { accepted: 0, codes: new Map(), stop: false };
    const running = runLoad(url, load, 16, 0);
    await waitFor(async () => (await status()).storage.ok === false, 60_000, "the node to report its storage failing");
    const failing = await status();
    expect(failing.storage).toMatchObject({ ok: false, code: "SQLITE_FULL" });
    expect(failing.storage.error).toContain("full");
    expect(failing.storage.freeBytes).toBeLessThan(256 * 1024);
    expect(failing.accepting).toBe(false);
    // Keep the load on for a while: every payment is refused with the code, none crashes the node.
    const refusedBefore = load.codes.get("STORAGE_FAILING") ?? 0;
    await Bun.sleep(2_000);
    expect(node.process.exitCode).toBeNull();
    expect(load.codes.get("STORAGE_FAILING") ?? 0).toBeGreaterThan(refusedBefore);
    const during = await status();
    expect(during.storage.ok).toBe(false);
    expect((await getJson(`${url}/status`)).json.ledger.payments).toBe(during.ledger.payments);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain("scryp_storage_ok 0");
    expect(metrics).toMatch(/^scryp_data_dir_free_bytes \d+$/m);
    const page = await (await fetch(`${url}/`)).text();
    expect(page).toContain('id="storage" data-ok="false"');
    expect(page).toContain("not accepting payments until the disk takes writes again");
    expect(node.log()).toContain("storage failing:");
    // What was acknowledged is what the ledger holds: every accepted payment applied once.
    expect(during.ledger.payments).toBe(load.accepted);

    // 2. The disk grows: the node resumes by itself (the probe backs off up to 30 s) and accepts again.
    disk.resize(LARGE_KIB);
    await waitFor(async () => (await status()).storage.ok === true, 45_000, "the node to resume");
    const acceptedAtResume = load.accepted;
    await waitFor(() => load.accepted > acceptedAtResume + 200, 30_000, "payments to be accepted again");
    load.stop = true;
    await running;
    expect(node.log()).toContain("storage works again after");
    const last = await status();
    expect(last.storage.ok).toBe(true);
    expect(last.ledger.payments).toBe(load.accepted);
    expect(seen.every((s) => s.supply === SUPPLY)).toBe(true);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.payments).toBeGreaterThanOrEqual(seen[i - 1]!.payments);

    // 3. Stopped, the file holds exactly what /status said: nothing served that was not on disk.
    expect(await node.kill("SIGTERM")).toBe(0);
    expect(readFile(join(dataDir, "ledger.sqlite"))).toEqual({
      payments: last.ledger.payments,
      accounts: last.ledger.accounts,
      supply: SUPPLY,
      stateHash: last.ledger.stateHash,
    });
    console.log(
      `disk-full.test: ${load.accepted} accepted (${acceptedAtResume} before the disk grew), rejected ${JSON.stringify(Object.fromEntries(load.codes))}`,
    );
  }, 180_000);
});
