// The wallet page's script (bundled into the binary: ../bundle-macro.ts). Everything secret
// happens here: the seed is made or read here, sealed under the passphrase (../seed-vault.ts) into
// IndexedDB (vault-store.ts), and payments are signed here. The servers are only asked: balances
// by majority (the rule of `scryp balance`), history merged as `scryp history` does, a payment
// sent to the server accepting now (../send-payment.ts) and followed (../follow-payment.ts).
import { keyPairFromSeed, randomSeed, type KeyPair } from "../../core/keys.ts";
import { formatPaymentRequest, isPaymentRequestText, parsePaymentRequest } from "../../core/payment-request.ts";
import { TRANSACTIONS_PAGE_MAX } from "../../core/limits.ts";
import { windowStartMs } from "../../core/schedule.ts";
import { scheduleOf } from "../../core/network.ts";
import type { Clock } from "../../core/clock.ts";
import { askBalance, balanceTally } from "../../client/balance-tally.ts";
import { askHistory, askTx } from "../../client/server-answers.ts";
import { mergeHistory } from "../../client/history.ts";
import { readEmbeddedNetwork, type WalletNetwork } from "../wallet-network.ts";
import { openSeed, sealSeed, WrongPassphraseError, type SealedSeed } from "../seed-vault.ts";
import { readAmount, readNewPassphrase, readPayment, readSeedFile, readSeedText, type PayInput } from "../wallet-input.ts";
import { sendPayment, type SendEvent, type SendResult } from "../send-payment.ts";
import { paymentProgress, settled, type Stage } from "../follow-payment.ts";
import { fromHex, toHex } from "../hex.ts";
import { qrDrawing } from "../qr.ts";
import { forgetSealed, loadSealed, storeSealed } from "./vault-store.ts";

/** Balance and history are asked again this often while the wallet is open. */
const REFRESH_MS = 5_000;
/** A sent payment's servers are asked this often until it settles. */
const FOLLOW_POLL_MS = 1_000;
/** Following gives up this many windows after the payment's own (pay.ts waits 3 for its outcome). */
const FOLLOW_WINDOWS_MAX = 3;
/** History rows a page. */
const HISTORY_PAGE_SIZE = 10;
/** Scanning for a QR code stops after this long without one. */
const SCAN_MS_MAX = 60_000;
const SCAN_EVERY_MS = 300;

// ---- The page's elements ------------------------------------------------------------------------

function element<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`the wallet page has no #${id}`);
  return found as T;
}
const input = (id: string) => element<HTMLInputElement>(id);
const button = (id: string) => element<HTMLButtonElement>(id);
const show = (id: string, visible: boolean) => void (element(id).hidden = !visible);

function say(id: string, text: string, kind: "error" | "info" = "error"): void {
  const el = element(id);
  el.textContent = text;
  el.className = `message ${text === "" ? "" : kind}`;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const groupDigits = (n: number) => n.toLocaleString("en-US");
const utcText = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace("T", " ");
const shortId = (hex: string) => `${hex.slice(0, 8)}…${hex.slice(-4)}`;

// ---- State ------------------------------------------------------------------------------------

const root = element("wallet");
const network: WalletNetwork | null = readEmbeddedNetwork(root.dataset["network"] ?? "");
/**
 * The schedule runs on the servers' clocks: the page takes the offset of the one that rendered it
 * (its clock at rendering, against this browser's at the response), so a phone whose clock is off
 * still signs payments its alpha takes.
 */
const clockOffsetMs = (() => {
  const renderedMs = Number(root.dataset["nowMs"]);
  const navigation = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming | undefined;
  if (!Number.isFinite(renderedMs) || navigation === undefined) return 0;
  // Whole ms: a payment's timestamp is a whole number of ms.
  return Math.round(renderedMs - (performance.timeOrigin + navigation.responseStart));
})();
const clock: Clock = { now: () => Date.now() + clockOffsetMs };

let sealed: SealedSeed | null = null;
let keyPair: KeyPair | null = null;
let account = "";
let balanceNow: number | null = null;
let historyPage = 0;
let refreshing = false;
let refreshTimer: ReturnType<typeof setInterval> | null = null;
let paying = false;
let reviewed: PayInput | null = null;
let scanning: { stop: () => void } | null = null;

// ---- Setup: create, import, unlock, lock, forget ---------------------------------------------

function showSetup(): void {
  show("setup-loading", false);
  show("setup-new", keyPair === null && sealed === null);
  show("setup-locked", keyPair === null && sealed !== null);
  show("forget-confirm", false);
  show("setup-open", keyPair !== null);
  if (sealed !== null) element("locked-account").textContent = sealed.account;
  for (const id of ["balance-card", "receive-card", "pay-card", "history-card"]) show(id, keyPair !== null);
}

async function adopt(seed: Uint8Array, passphrase: string, messageId: string, submit: HTMLButtonElement): Promise<void> {
  submit.disabled = true;
  say(messageId, "Encrypting the seed under your passphrase…", "info");
  try {
    const record = await sealSeed(seed, passphrase);
    await storeSealed(record);
    sealed = record;
    keyPair = keyPairFromSeed(seed);
    say(messageId, "");
    clearSecrets();
    opened();
  } catch (e) {
    say(messageId, `The wallet was not stored: ${(e as Error).message}`);
  } finally {
    submit.disabled = false;
  }
}

element("create-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const passphrase = readNewPassphrase(input("create-passphrase").value, input("create-passphrase-again").value);
  if (!passphrase.ok) return say("create-message", passphrase.message);
  void adopt(randomSeed(), passphrase.value, "create-message", (event.target as HTMLFormElement).querySelector("button")!);
});

element("import-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const submit = (event.target as HTMLFormElement).querySelector("button")!;
  void (async () => {
    const file = input("import-file").files?.[0];
    const typed = input("import-seed").value;
    if (file !== undefined && typed.trim() !== "") return say("import-message", "give the seed or a .seed file, not both");
    const seed = file !== undefined ? readSeedFile(new Uint8Array(await file.slice(0, 1024).arrayBuffer())) : readSeedText(typed);
    if (!seed.ok) return say("import-message", seed.message);
    const passphrase = readNewPassphrase(input("import-passphrase").value, input("import-passphrase-again").value);
    if (!passphrase.ok) return say("import-message", passphrase.message);
    await adopt(seed.value, passphrase.value, "import-message", submit);
  })();
});

element("unlock-form").addEventListener("submit", (event) => {
  event.preventDefault();
  if (sealed === null) return;
  const record = sealed;
  const submit = (event.target as HTMLFormElement).querySelector<HTMLButtonElement>("button[type=submit]")!;
  submit.disabled = true;
  say("unlock-message", "Unlocking…", "info");
  void openSeed(record, input("unlock-passphrase").value)
    .then((opened_) => {
      keyPair = opened_;
      say("unlock-message", "");
      opened();
    })
    .catch((e: unknown) => say("unlock-message", e instanceof WrongPassphraseError ? "Wrong passphrase: the wallet stays locked." : `The wallet did not open: ${(e as Error).message}`))
    .finally(() => (submit.disabled = false));
});

button("forget").addEventListener("click", () => show("forget-confirm", true));
button("forget-no").addEventListener("click", () => show("forget-confirm", false));
button("forget-yes").addEventListener("click", () => {
  void forgetSealed()
    .then(() => {
      sealed = null;
      showSetup();
    })
    .catch((e: unknown) => say("unlock-message", `The wallet was not forgotten: ${(e as Error).message}`));
});

button("lock").addEventListener("click", () => {
  keyPair = null;
  account = "";
  balanceNow = null;
  if (refreshTimer !== null) clearInterval(refreshTimer);
  refreshTimer = null;
  scanning?.stop();
  clearSecrets();
  showSetup();
});

/** No seed or passphrase is left in a field or on the page once it has been used. */
function clearSecrets(): void {
  element("seed-hex").textContent = "";
  show("seed-box", false);
  button("show-seed").textContent = "Show seed";
  button("show-seed").setAttribute("aria-expanded", "false");
  for (const id of ["create-passphrase", "create-passphrase-again", "import-seed", "import-passphrase", "import-passphrase-again", "unlock-passphrase", "import-file"]) input(id).value = "";
}

button("backup").addEventListener("click", () => {
  if (keyPair === null) return;
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([keyPair.seed as BlobPart], { type: "application/octet-stream" }));
  link.download = `scryp-${account.slice(0, 8)}.seed`;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  say("setup-message", `Backup downloaded as ${link.download}: keep it offline and safe. The scryp command reads it too (--seed FILE).`, "info");
});

button("show-seed").addEventListener("click", () => {
  if (keyPair === null) return;
  const visible = element("seed-box").hidden;
  element("seed-hex").textContent = visible ? toHex(keyPair.seed) : "";
  show("seed-box", visible);
  button("show-seed").textContent = visible ? "Hide seed" : "Show seed";
  button("show-seed").setAttribute("aria-expanded", String(visible));
});

function opened(): void {
  if (keyPair === null) return;
  account = toHex(keyPair.publicKey);
  for (const id of ["account-id", "receive-account"]) element(id).textContent = account;
  input("unlock-passphrase").value = "";
  historyPage = 0;
  showSetup();
  void refreshAll();
  if (refreshTimer === null) refreshTimer = setInterval(() => void refreshAll(), REFRESH_MS);
}

// ---- Balance and history ----------------------------------------------------------------------

async function refreshAll(): Promise<void> {
  if (refreshing || network === null || account === "") return;
  refreshing = true;
  try {
    await Promise.all([refreshBalance(network, account), refreshHistory(network, account)]);
    element("refreshed").textContent = `updated ${utcText(clock.now()).slice(11)} UTC`;
  } finally {
    refreshing = false;
  }
}

async function refreshBalance(net: WalletNetwork, id: string): Promise<void> {
  const answers = await Promise.all(net.servers.map((s) => askBalance(s, id)));
  if (id !== account) return;
  const tally = balanceTally(answers);
  const shown = element("balance");
  const notes: string[] = [];
  if (tally.kind === "balance") {
    balanceNow = tally.balance;
    shown.textContent = `${groupDigits(tally.balance)} scryp`;
  } else if (tally.kind === "no-account") {
    balanceNow = 0;
    shown.textContent = "0 scryp";
    notes.push("No server holds this account: it has received nothing yet (or spent everything).");
  } else {
    balanceNow = null;
    shown.textContent = "unknown";
    notes.push(`No majority of the ${answers.length} servers agrees on the balance.`);
  }
  shown.dataset["balance"] = balanceNow === null ? "" : String(balanceNow);
  for (const a of tally.disagreeing) notes.push(`${a.server} disagrees: it says ${a.kind === "balance" ? `${groupDigits(a.balance)} scryp` : "no account"}.`);
  for (const a of tally.unanswered) notes.push(`${a.server} did not answer${a.kind === "error" ? ` (${a.message})` : ""}.`);
  const list = element("balance-notes");
  list.replaceChildren(...notes.map((text) => Object.assign(document.createElement("li"), { textContent: text })));
}

async function refreshHistory(net: WalletNetwork, id: string): Promise<void> {
  // Servers number their rows differently, so a page is the newest (page + 1) × size of the merge.
  const limit = Math.min((historyPage + 1) * HISTORY_PAGE_SIZE + 1, TRANSACTIONS_PAGE_MAX);
  const asked = await Promise.all(net.servers.map((s) => askHistory(s, id, limit, clock)));
  if (id !== account) return;
  const history = mergeHistory(id, asked, net.servers.length, limit);
  const from = historyPage * HISTORY_PAGE_SIZE;
  const rows = history.payments.slice(from, from + HISTORY_PAGE_SIZE);
  element("history-rows").replaceChildren(
    ...rows.map((p) => {
      const tr = document.createElement("tr");
      tr.dataset["payment"] = p.id;
      tr.dataset["status"] = p.status;
      const cell = (cls: string, text: string) => Object.assign(document.createElement("td"), { className: cls, textContent: text });
      const other = p.direction === "in" ? p.payer : p.payee;
      const otherCell = cell("c-other", `${p.direction === "in" ? "from" : "to"} `);
      otherCell.appendChild(Object.assign(document.createElement("code"), { textContent: shortId(other), title: other }));
      const statusCell = cell("c-status", "");
      statusCell.appendChild(Object.assign(document.createElement("span"), { className: `badge ${p.status}`, textContent: p.status }));
      tr.append(
        cell("c-time", utcText(p.timestamp)),
        cell(`c-amount amount ${p.direction}`, `${p.direction === "in" ? "+" : "−"}${groupDigits(p.amount)}`),
        otherCell,
        statusCell,
      );
      return tr;
    }),
  );
  const empty = element("history-empty");
  empty.textContent = history.answered === 0 ? "No server answered: the history is unknown for now." : "No payments on this page.";
  show("history-empty", rows.length === 0);
  button("history-newer").disabled = historyPage === 0;
  button("history-older").disabled = history.payments.length <= from + HISTORY_PAGE_SIZE || limit >= TRANSACTIONS_PAGE_MAX;
  element("history-page").textContent = `page ${historyPage + 1}`;
}

button("refresh").addEventListener("click", () => void refreshAll());
button("history-newer").addEventListener("click", () => {
  historyPage = Math.max(0, historyPage - 1);
  void refreshAll();
});
button("history-older").addEventListener("click", () => {
  historyPage++;
  void refreshAll();
});

// ---- Receive ----------------------------------------------------------------------------------

async function copy(text: string, messageId: string, what: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    say(messageId, `${what} copied.`, "info");
  } catch {
    say(messageId, `This browser did not let the page copy: select the ${what.toLowerCase()} and copy it by hand.`);
  }
}

button("copy-account").addEventListener("click", () => void copy(account, "request-message", "Account id"));
button("copy-request").addEventListener("click", () => void copy(element("request-uri").textContent ?? "", "request-message", "Payment request"));

element("request-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const amount = readAmount(input("request-amount").value);
  if (!amount.ok) {
    say("request-message", amount.message);
    return;
  }
  const uri = formatPaymentRequest({ payee: account, amount: amount.value });
  element("request-uri").textContent = uri;
  const qr = qrDrawing(uri);
  const svgNs = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(svgNs, "svg");
  svg.setAttribute("viewBox", `0 0 ${qr.size} ${qr.size}`);
  svg.setAttribute("class", "qr");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `QR code of the payment request for ${amount.value} scryp`);
  svg.setAttribute("shape-rendering", "crispEdges");
  const path = document.createElementNS(svgNs, "path");
  path.setAttribute("d", qr.path);
  svg.appendChild(path);
  element("request-qr").replaceChildren(svg);
  say("request-message", "");
  show("request-output", true);
});

// ---- Pay --------------------------------------------------------------------------------------

input("pay-payee").addEventListener("input", () => {
  // A pasted or scanned request fills the amount in, for the user to see before reviewing.
  const text = input("pay-payee").value.trim();
  if (!isPaymentRequestText(text)) return;
  const parsed = parsePaymentRequest(text);
  if (parsed.ok && input("pay-amount").value.trim() === "") input("pay-amount").value = String(parsed.request.amount);
});

element("pay-form").addEventListener("submit", (event) => {
  event.preventDefault();
  if (paying) return say("pay-message", "A payment is on its way: wait until it settles.");
  const read = readPayment(input("pay-payee").value, input("pay-amount").value, account, balanceNow);
  show("pay-confirm", false);
  reviewed = null;
  if (!read.ok) return say("pay-message", read.message);
  say("pay-message", "");
  reviewed = read.value;
  element("confirm-amount").textContent = groupDigits(read.value.amount);
  element("confirm-payee").textContent = read.value.payee;
  show("pay-confirm", true);
  button("confirm-send").focus();
});

button("confirm-cancel").addEventListener("click", () => {
  reviewed = null;
  show("pay-confirm", false);
  say("pay-message", "Cancelled: nothing was sent.", "info");
});

function step(text: string, kind: "done" | "bad" | "" = "done"): void {
  element("pay-steps").appendChild(Object.assign(document.createElement("li"), { textContent: text, className: kind }));
}

function setPayState(state: Stage | "waiting" | "sending" | "acknowledged" | "refused" | "unknown"): void {
  const badge = element("pay-state");
  badge.textContent = state;
  badge.dataset["state"] = state;
  badge.className = `badge ${state === "acknowledged" || state === "sending" || state === "waiting" ? "pending" : state === "refused" || state === "unknown" ? "disappeared" : state}`;
}

function onSendEvent(event: SendEvent): void {
  if (event.kind === "waiting") {
    setPayState("waiting");
    step(`The servers are handing over (a blackout): waiting ${(event.ms / 1000).toFixed(1)} s for ${event.server} to start accepting.`);
  } else if (event.kind === "sending") {
    setPayState("sending");
    element("pay-id").textContent = event.id;
    step(`Signed in this browser and sent to ${event.server}, the server accepting now.`);
  } else {
    step(`${event.server} answered ${event.why}: trying again in ${event.ms} ms.`, "");
  }
}

button("confirm-send").addEventListener("click", () => {
  if (reviewed === null || keyPair === null || network === null || paying) return;
  const payment = reviewed;
  reviewed = null;
  paying = true;
  show("pay-confirm", false);
  element("pay-steps").replaceChildren();
  element("pay-id").textContent = "";
  show("pay-progress", true);
  void sendPayment({ network, keyPair, payee: fromHex(payment.payee, 32)!, amount: payment.amount, clock, fetch: (url, init) => fetch(url, init), sleep, onEvent: onSendEvent })
    .then(async (result) => {
      if (result.kind === "refused") {
        setPayState("refused");
        step(`Refused by ${result.server}: ${result.code}: ${result.message}. Nothing was paid.`, "bad");
        return;
      }
      // Taken (or maybe taken): the fields are cleared, so that the same payment is not sent twice by accident.
      input("pay-payee").value = "";
      input("pay-amount").value = "";
      if (result.kind === "accepted") {
        setPayState("acknowledged");
        step(`Acknowledged: ${result.server} accepted it; a majority of the servers hold it on their disks.`);
      } else {
        setPayState("unknown");
        step(`${result.detail}. It may still have been taken, so nothing more is sent: asking every server what became of it.`, "bad");
      }
      await follow(network, result);
    })
    .catch((e: unknown) => {
      setPayState("unknown");
      step(`The wallet failed: ${(e as Error).message}`, "bad");
    })
    .finally(() => {
      paying = false;
      void refreshAll();
    });
});

async function follow(net: WalletNetwork, sent: Exclude<SendResult, { kind: "refused" }>): Promise<void> {
  const deadlineMs = windowStartMs(sent.window + 1 + FOLLOW_WINDOWS_MAX, scheduleOf(net));
  let shown: Stage | "found" | null = null;
  for (;;) {
    const asked = await Promise.all(net.servers.map((s) => askTx(s, sent.id, clock)));
    const progress = paymentProgress(sent.window, asked, net.servers.length);
    const { holding, agreedWith, agreedWithout, of } = progress.tally;
    if (progress.stage === "pending" && sent.kind === "uncertain" && holding > 0 && shown === null) {
      shown = "found";
      setPayState("acknowledged");
      step(`Found: ${holding} of ${of} servers hold it, so it was taken.`);
    }
    if (progress.stage !== "pending" && progress.stage !== shown) {
      if (progress.stage === "agreed" || (progress.stage === "final" && shown !== "agreed")) step(`Agreed: ${agreedWith} of ${of} servers hold it in an agreed checkpoint.`);
      if (progress.stage === "final") step(`Final: ${progress.finalCount} of ${of} servers report it final.`);
      if (progress.stage === "disappeared") {
        step(`Disappeared: ${agreedWithout} of ${of} servers agreed on its window without it. It will never apply: nothing was paid, and paying again is safe.`, "bad");
      }
      shown = progress.stage;
      setPayState(progress.stage);
    }
    if (settled(progress, clock.now(), deadlineMs)) break;
    await sleep(FOLLOW_POLL_MS);
  }
  if (shown === null || shown === "found") {
    step(`Not settled by ${utcText(deadlineMs).slice(11)} UTC: look for it in the history later.`, "bad");
    // Acknowledged stays acknowledged; a payment never seen anywhere is unknown.
    if (shown === null && sent.kind === "uncertain") setPayState("unknown");
  }
}

// ---- Scanning a QR code -------------------------------------------------------------------------

interface BarcodeDetectorLike {
  detect(source: HTMLVideoElement): Promise<{ rawValue: string }[]>;
}
type BarcodeDetectorClass = new (options: { formats: string[] }) => BarcodeDetectorLike;

button("scan").addEventListener("click", () => {
  const Detector = (globalThis as { BarcodeDetector?: BarcodeDetectorClass }).BarcodeDetector;
  if (Detector === undefined || navigator.mediaDevices?.getUserMedia === undefined) {
    say("pay-message", "This browser cannot scan QR codes on this page (no BarcodeDetector, or no camera access): paste the payment request into the payee field instead.");
    return;
  }
  if (scanning !== null) return;
  void (async () => {
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    } catch (e) {
      say("pay-message", `The camera did not open (${(e as Error).message}): paste the payment request instead.`);
      return;
    }
    const video = element<HTMLVideoElement>("scan-video");
    let stopped = false;
    scanning = {
      stop: () => {
        stopped = true;
        for (const track of stream.getTracks()) track.stop();
        video.srcObject = null;
        show("scanner", false);
        scanning = null;
      },
    };
    video.srcObject = stream;
    show("scanner", true);
    say("pay-message", "Point the camera at the payment request's QR code.", "info");
    await video.play();
    const detector = new Detector({ formats: ["qr_code"] });
    const untilMs = Date.now() + SCAN_MS_MAX;
    while (!stopped && Date.now() < untilMs) {
      const codes = await detector.detect(video).catch(() => []);
      if (codes[0] !== undefined && !stopped) {
        input("pay-payee").value = codes[0].rawValue;
        input("pay-payee").dispatchEvent(new Event("input"));
        say("pay-message", "Scanned: check the payee and amount, then review the payment.", "info");
        break;
      }
      await sleep(SCAN_EVERY_MS);
    }
    scanning?.stop();
  })();
});
button("scan-stop").addEventListener("click", () => scanning?.stop());

// ---- Start --------------------------------------------------------------------------------------

async function start(): Promise<void> {
  const unsupported = (text: string) => {
    element("unsupported").textContent = text;
    show("unsupported", true);
    show("setup-loading", false);
  };
  if (network === null) return unsupported("This page holds no network the wallet can read: reload it, or ask the server's operator.");
  if (!window.isSecureContext || globalThis.crypto?.subtle === undefined || globalThis.indexedDB === undefined) {
    return unsupported(
      "This page is not in a secure context (https, or http on localhost / 127.0.0.1), so the browser withholds what the wallet needs to keep your seed encrypted (WebCrypto). " +
        "Open it over https, or run `scryp wallet` on your own machine and open the address it prints.",
    );
  }
  try {
    sealed = await loadSealed();
  } catch (e) {
    return unsupported(`The wallet kept in this browser could not be read: ${(e as Error).message}`);
  }
  showSetup();
}

void start();
