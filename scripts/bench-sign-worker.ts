// A worker thread of scripts/bench-cluster-client.ts: signs one slice of the cluster benchmark's
// plan (bench-common.ts signPlanned) and hands the bytes back, transferred, not copied.
import { benchPayers, signPlanned, type StampPlan } from "./bench-common.ts";

declare const self: Worker;

self.onmessage = (event: MessageEvent<{ payerCount: number; plan: StampPlan; from: number; count: number }>) => {
  const { payerCount, plan, from, count } = event.data;
  const { payments, ids } = signPlanned(benchPayers(payerCount), plan, from, count);
  self.postMessage({ from, payments, ids }, { transfer: [payments.buffer as ArrayBuffer, ids.buffer as ArrayBuffer] });
};
