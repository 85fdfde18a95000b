// A TCP proxy on loopback for fault injection: cut every connection at
// once, or freeze it so requests still arrive but no answer comes back
// (what a peer sees when the network fails after its request left).
import net from "node:net";

export interface TcpProxy {
  port: number;
  /** Connections accepted so far (a reconnect shows as one more). */
  connections(): number;
  /** Destroys every open connection (new ones are accepted). */
  cut(): void;
  /** Drops everything the target sends from now on; requests still reach it. */
  freeze(): void;
  /** Ends a freeze: cuts the half-dead connections so clients reconnect afresh. */
  thaw(): void;
  /** Holds back everything the target sends from now on (a stall, not a loss); requests still reach it. */
  hold(): void;
  /** Ends a hold: what was held back is delivered, in order, on the same connections. */
  release(): void;
  /** Cuts every connection and refuses new ones until unblock(). */
  block(): void;
  unblock(): void;
  close(): Promise<void>;
}

export async function tcpProxy(targetPort: number): Promise<TcpProxy> {
  const pairs = new Set<[net.Socket, net.Socket]>();
  let frozen = false;
  let held: Array<() => void> | undefined;
  let blocked = false;
  let accepted = 0;
  const cut = () => {
    for (const [a, b] of pairs) {
      a.destroy();
      b.destroy();
    }
    pairs.clear();
  };
  const server = net.createServer((client) => {
    if (blocked) return void client.destroy();
    accepted++;
    const upstream = net.connect(targetPort, "127.0.0.1");
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    client.pipe(upstream);
    upstream.on("data", (d: Buffer) => {
      if (frozen) return;
      if (held) held.push(() => client.write(d));
      else client.write(d);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => accepted,
    cut,
    freeze() {
      frozen = true;
    },
    thaw() {
      frozen = false;
      cut();
    },
    hold() {
      held ??= [];
    },
    release() {
      const writes = held ?? [];
      held = undefined;
      for (const write of writes) write();
    },
    block() {
      blocked = true;
      cut();
    },
    unblock() {
      blocked = false;
    },
    close() {
      cut();
      return new Promise((r) => server.close(() => r()));
    },
  };
}
