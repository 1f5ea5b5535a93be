// A port free on 127.0.0.1 for both TCP and UDP (a node serves both on one port). For tests,
// the benchmark and the devnet's checks; there is a race between asking and binding, so callers
// that bind for real still handle "in use".
export async function freePort(host = "127.0.0.1"): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const server = Bun.serve({ hostname: host, port: 0, fetch: () => new Response() });
    const port = server.port!;
    server.stop(true);
    try {
      const udp = await Bun.udpSocket({ hostname: host, port });
      udp.close();
      return port;
    } catch {
      // taken for UDP; try another
    }
  }
  throw new Error("no free port found");
}
