// What a server's process has done before it is measured: promises made inside the kinds of async
// resource its code runs in (a timer, an immediate, a tick, a file read, a TCP connection). Both
// in-process harnesses run it in every process after the case's first emits, before the warm-up.
//
// Why: on Node 20, once an AsyncLocalStorage is in use, a promise hook runs for every promise and
// reads a property of the resource the promise is made in. In a server that read sees many kinds
// of resource and V8 makes it megamorphic (slower for every promise). A bench process that only
// emits sees one or two kinds, unless the harness's own I/O (a message from the parent) adds more
// at some point of the measurement: the cost then depended on when, and differed between
// libraries. After this, every process that carries a context is measured in a server's state;
// the others run no hook and are unaffected.
import { readFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { setImmediate, setTimeout } from 'node:timers';

const SELF = fileURLToPath(import.meta.url);
const ROUNDS = 20;

/** A promise made and settled inside the callback `schedule` calls. */
function inside(schedule) {
  return new Promise((resolve) => schedule(() => Promise.resolve().then(resolve)));
}

/** One connection over loopback: the server's socket and the client's each make a promise. */
function tcpRoundTrip() {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => {
      socket.on('data', () => Promise.resolve().then(() => socket.end('y')));
    });
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const client = connect(server.address().port, '127.0.0.1', () => client.write('x'));
      client.on('error', reject);
      client.on('data', () => Promise.resolve().then(() => client.end()));
      client.on('close', () => server.close(() => resolve()));
    });
  });
}

export async function serverLike() {
  for (let i = 0; i < ROUNDS; i++) {
    await inside((fn) => setTimeout(fn, 0));
    await inside((fn) => setImmediate(fn));
    await inside((fn) => process.nextTick(fn));
    await readFile(SELF);
  }
  await tcpRoundTrip();
}
