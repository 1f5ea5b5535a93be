// Help texts. Keep them in step with README.md.
export const MAIN_HELP = `scryp — a small cryptocurrency for a local community, run by servers that take turns

Usage: scryp <command> [options]

Commands:
  node      run a server node (UDP and HTTP on one port)
  keygen    create a seed file if missing and print its public key
  pay       pay an amount to an account
  balance   show an account's balance
  devnet    run a whole network on this machine (N nodes on loopback) to try scryp out

Options:
  --version  print the version and the git commit
  --help     show help (also: scryp <command> --help)
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
  keygen: `Usage: scryp keygen [--seed FILE]

Creates the seed file if it is missing (32 random bytes, mode 0600, never overwritten) and prints
the public key: the account id, 64 hex digits.

  --seed FILE  the seed file (default: .seed)
`,
  pay: `Usage: scryp pay PAYEE AMOUNT [--network FILE | --node URL] [--seed FILE] [--http] [--wait]

Signs a payment of AMOUNT whole scryp from the seed's account to PAYEE (64 hex digits) and sends
it to the server accepting payments now (computed from the clock and the network file; a blackout
is waited out). Prints the payment id; exits 0 only when accepted (with --wait: confirmed).

It never signs a second payment while an earlier one may have been accepted. When the server does
not answer, it asks the servers what became of the payment (waiting for its window's agreement, at
most 3 windows) and pays again through the next alpha only once the payment is known not to have
been accepted. Exit 1: rejected; exit 3: the outcome could not be found out (nothing more was paid;
the message says how to check).

  --network FILE  the network file (default: scryp-data/network.json)
  --node URL      send to this node instead, e.g. http://127.0.0.1:7400
  --seed FILE     the payer's seed (default: .seed)
  --http          send over HTTP instead of UDP
  --wait          then wait until a majority of servers agree on it (or report that it disappeared)
`,
  balance: `Usage: scryp balance [ID] [--network FILE | --node URL] [--seed FILE]

Prints the balance of account ID (default: the seed's own account), as a majority of the servers
report it.

  --network FILE  the network file (default: scryp-data/network.json)
  --node URL      ask this node only, e.g. http://127.0.0.1:7400
  --seed FILE     the seed whose account to show when ID is not given (default: .seed)
`,
  devnet: `Usage: scryp devnet [--nodes N] [--interval D] [--blackout D] [--dir DIR] [--port N]

Runs a whole network on this machine to try scryp out: one \`scryp node\` child process per server
on 127.0.0.1, their logs on stderr prefixed with each node's name. Once every node is up and a
window is agreed, prints (on stdout) commands ready to paste: a payment from the demo account, a
balance, and the status page. Ctrl-C or SIGTERM stops every node (exit 0); a node that exits on its
own stops the others (exit 1).

DIR holds server-1.seed …, demo.seed (genesis gives it the whole supply, 4294967295 scryp),
friend.seed (an empty second account), network.json and each node's ledger (node-1/ …). Running
again with the same DIR resumes that network; a flag that contradicts it is an error.

  --nodes N       how many servers (default: 3; at most 16)
  --interval D    window length (default: 10s; at least 1s). Durations: 1500ms, 10s, 2m, 1h
  --blackout D    end of each window in which the alpha accepts nothing (default: 3s, or 30% of a
                  shorter interval; at least 200ms, shorter than the interval). The clock
                  tolerance (skew) is min(5s, (blackout - 1ms) / 2), so blackout > 2 × skew
  --dir DIR       the devnet's directory (default: scryp-devnet)
  --port N        base port: node k listens on N + k - 1 (default: 7400)
`,
};
