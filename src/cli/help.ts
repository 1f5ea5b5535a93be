// Help texts. Keep them in step with README.md.
export const MAIN_HELP = `scryp — a small cryptocurrency for a local community, run by servers that take turns

Usage: scryp <command> [options]

Commands:
  node      run a server node (UDP and HTTP on one port)
  keygen    create a seed file if missing and print its public key
  pay       pay an amount to an account (or a scryp: payment request)
  balance   show an account's balance
  history   show an account's payments, newest first, with their status
  tx        show one payment's lifecycle across the servers
  status    show the network now: window, alpha, beta, agreement, each server
  request   print a payment request (scryp: URI and QR code) for your account
  devnet    run a whole network on this machine (N nodes on loopback) to try scryp out
  wallet    serve the wallet page from this machine (127.0.0.1), for a browser

Options:
  --version  print the version and the git commit
  --help     show help (also: scryp <command> --help)

keygen, pay, balance, history, tx, status and request take --json: one JSON document on stdout,
an error as {"error":{"code","message"}} on stderr, the same exit status.
`;

const JSON_HELP = `  --json          print one JSON document on stdout; errors as {"error":{"code","message"}} on
                  stderr (nothing else there); the same exit status
`;

export const COMMAND_HELP: Record<string, string> = {
  node: `Usage: scryp node [--network FILE] [--seed FILE] [--data DIR] [--port N] [--host ADDR] [--log text|json]

Runs a server. Logs its public key, finds its entry in the network file by that key, and serves
payments over UDP and the HTTP API on the same port.

  --network FILE  the network file (default: none — run a one-server network of this node whose
                  genesis gives it the whole supply, written to DIR/network.json)
  --seed FILE     the server's seed (default: .seed; created if missing)
  --data DIR      where the ledger lives (default: scryp-data)
  --port N        port for UDP and HTTP (default: from the network file; 7400 without one)
  --host ADDR     address to listen on (default: from the network file; 127.0.0.1 without one)
  --log FORMAT    text (default) or json
`,
  keygen: `Usage: scryp keygen [--seed FILE] [--json]

Creates the seed file if it is missing (32 random bytes, mode 0600, never overwritten) and prints
the public key: the account id, 64 hex digits. With --json: {"id","seed","created"}.

  --seed FILE     the seed file (default: .seed)
${JSON_HELP}`,
  pay: `Usage: scryp pay PAYEE AMOUNT [--network FILE | --node URL] [--seed FILE] [--http] [--wait [final]] [--json]
       scryp pay scryp:PAYEE?amount=AMOUNT [options]

Signs a payment of AMOUNT whole scryp from the seed's account to PAYEE (64 hex digits) and sends
it to the server accepting payments now (computed from the clock and the network file; a blackout
is waited out). Prints the payment id; exits 0 only when accepted (with --wait: confirmed; with
--wait final: final). "Accepted" means a majority of the servers hold it on disk.

It never signs a second payment while an earlier one may have been accepted. When the server does
not answer, it asks the servers what became of the payment (waiting for its window's agreement, at
most 3 windows) and pays again through the next alpha only once the payment is known not to have
been accepted. Exit 1: rejected; exit 3: the outcome could not be found out (nothing more was paid;
the message says how to check).

A payment request (from \`scryp request\`) can stand in for PAYEE AMOUNT:
scryp:<payee, 64 lowercase hex>?amount=<1..4294967295>, nothing else (another parameter is refused).

With --json: {"status":"accepted"|"confirmed"|"final","id","payer","payee","amount","server",
"timestamp","how"} (confirmed and final add "servers","of","final"); a refusal is
{"error":{"code","message","id","server"}} with the server's code (OUTCOME_UNKNOWN with exit 3;
DISAPPEARED, NOT_CONFIRMED after --wait; NOT_FINAL after --wait final).

  --network FILE  the network file (default: scryp-data/network.json)
  --node URL      send to this node instead, e.g. http://127.0.0.1:7400
  --seed FILE     the payer's seed (default: .seed)
  --http          send over HTTP instead of UDP
  --wait          then wait until a majority of servers agree on it (or report that it disappeared),
                  and say whether it is final yet (agreed by enough servers that one faulty server
                  cannot undo it: 3 of 3, 3 of 4, 4 of 5)
  --wait final    wait until it is final (at most 3 windows; names the servers not final then)
${JSON_HELP}`,
  balance: `Usage: scryp balance [ID] [--network FILE | --node URL] [--seed FILE] [--json]

Prints the balance of account ID (default: the seed's own account), as a majority of the servers
report it. With --json: {"id","balance","servers":[{"server","balance"} or {"server","error"}]}
(balance null: that server has no such account); errors UNKNOWN_ACCOUNT, NO_MAJORITY.

  --network FILE  the network file (default: scryp-data/network.json)
  --node URL      ask this node only, e.g. http://127.0.0.1:7400
  --seed FILE     the seed whose account to show when ID is not given (default: .seed)
${JSON_HELP}`,
  history: `Usage: scryp history [ID] [--limit N] [--network FILE | --node URL] [--seed FILE] [--json]

Prints the payments of account ID (default: the seed's own account), newest first, merged from
every server: time signed, +amount received or -amount paid, the other account, status, window and
payment id. Status: agreed (a majority of the servers hold it in an agreed checkpoint), pending
(its window is not agreed by a majority yet) or disappeared (a majority agreed its window without
it: it can never apply). With --node, as that one node sees it. Exit 1 when no server answers or
none knows the account (UNKNOWN_ACCOUNT).

With --json: {"id","limit","payments":[{"id","timestamp","window","amount","payer","payee",
"direction":"in"|"out","status","servers"}],"servers":[{"server","reachable"}]}.

  --limit N       show at most N payments (default: 20; at most 500)
  --network FILE  the network file (default: scryp-data/network.json)
  --node URL      ask this node only, e.g. http://127.0.0.1:7400
  --seed FILE     the seed whose account to show when ID is not given (default: .seed)
${JSON_HELP}`,
  tx: `Usage: scryp tx ID [--network FILE | --node URL] [--json]

Prints one payment's lifecycle across the servers: its amount, payer, payee and window, each
server's answer (holds it since when, or not; the last window it agreed) and where it stands:
agreed (a majority hold it in an agreed checkpoint), pending, or disappeared (a majority agreed its
window without it: pay again), and whether it is final (a majority of the servers report its
window agreed by the final quorum, which one faulty server cannot undo). Exit 0 when a server
holds it; exit 1 when none does (NOT_FOUND) or none answers (UNREACHABLE).

With --json: {"id","payment":{…},"state","final","finalWith","holding","agreedWith","agreedWithout","of",
"servers":[{"server","reachable","holds","agreedWindow","acceptedAt"}]}.

  --network FILE  the network file (default: scryp-data/network.json)
  --node URL      ask this node only, e.g. http://127.0.0.1:7400
${JSON_HELP}`,
  status: `Usage: scryp status [--network FILE] [--json]

Prints the network now: the window, alpha and beta by this machine's clock and the network file,
the time to the next switch of roles, the last agreed window (and how many servers are at it), and
for each server whether it answers, its clock offset (its clock minus this machine's, less half
the round trip; ± that half), its role, its agreed window and its last vote (agrees, disagrees,
missing, or ahead of the last agreed), and the last final window a majority reports ("final":
{"window","servers"} or null with --json). Exit 1 when no server answers (UNREACHABLE).

  --network FILE  the network file (default: scryp-data/network.json)
${JSON_HELP}`,
  request: `Usage: scryp request AMOUNT [--seed FILE] [--json]

Prints a payment request for AMOUNT whole scryp to the seed's own account, as a URI and as a QR
code for a phone: scryp:<account id>?amount=AMOUNT. The payer runs \`scryp pay <URI>\`.
With --json: {"uri","payee","amount"} (no QR code).

  --seed FILE     the seed of the account to be paid (default: .seed; never created)
${JSON_HELP}`,
  devnet: `Usage: scryp devnet [--nodes N] [--interval D] [--blackout D] [--dir DIR] [--port N]

Runs a whole network on this machine to try scryp out: one \`scryp node\` child process per server
on 127.0.0.1, each logging to DIR/logs/node-K.log (appended). Once every node is up and a window
is agreed, prints (on stdout) commands ready to paste: a payment from the demo account, a balance,
the status page and the logs; then (on stderr) one line a window: its alpha, its payments, agreed
or not. When stdin is a terminal, Enter (or c + Enter) prints the commands again, and they are
printed once more at exit. Ctrl-C or SIGTERM stops every node (exit 0); a node that exits on its
own stops the others (exit 1), and its last log lines are shown.

DIR holds server-1.seed …, demo.seed (genesis gives it the whole supply, 4294967295 scryp),
friend.seed (an empty second account), network.json, each node's ledger (node-1/ …) and logs/. Running
again with the same DIR resumes that network; a flag that contradicts it is an error.

  --nodes N       how many servers (default: 3; at most 16)
  --interval D    window length (default: 10s; at least 1s). Durations: 1500ms, 10s, 2m, 1h
  --blackout D    end of each window in which the alpha accepts nothing (default: 3s, or 30% of a
                  shorter interval; at least 200ms, shorter than the interval). The clock
                  tolerance (skew) is min(5s, (blackout - 1ms) / 2), so blackout > 2 × skew
  --dir DIR       the devnet's directory (default: scryp-devnet)
  --port N        base port: node k listens on N + k - 1 (default: 7400)
`,
  wallet: `Usage: scryp wallet [--network FILE] [--port N]

Serves the wallet page (the one every node serves at /wallet) from this machine, on 127.0.0.1
only, and prints its address. The page runs in the browser: the seed is made or imported there and
kept there, encrypted under a passphrase; it talks to the network's servers directly. A browser
keeps the wallet per address: use the same port to find it again. Ctrl-C stops it.

  --network FILE  the network file (default: scryp-data/network.json)
  --port N        port to serve on (default: 7480)
`,
};
