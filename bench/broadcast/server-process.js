// One broadcasting server for bench/broadcast.bench.js, in its own process. argv: mode
// (`plain` | `immediate` | `queued`), redis URL. Prints `port <n>` once listening; on an IPC
// `{ emit: n }` it sends n messages to the room/channel `bench` as fast as it can, each carrying
// its send time, and answers `{ sent: n }`.
import 'reflect-metadata';
import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';

const [mode, redisUrl] = process.argv.slice(2);
const now = () => performance.timeOrigin + performance.now();

async function plain() {
  const { Server } = await import('socket.io');
  const http = createServer();
  const io = new Server(http, { serveClient: false });
  io.on('connection', (socket) => {
    socket.on('subscribe', ({ channel }, ack) => {
      socket.join(channel);
      ack({ ok: true });
    });
  });
  await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    port: http.address().port,
    emit(i) {
      io.to('bench').emit('tick', { channel: 'bench', id: String(i), data: { i, at: now() } });
    },
  };
}

async function ours(queued) {
  const { Injectable, Module } = await import('@nestjs/common');
  const { NestFactory } = await import('@nestjs/core');
  const lib = await import('../../dist/index.js');
  class Anyone {
    authenticate() {
      return { id: 'bench' };
    }
  }
  Injectable()(Anyone);
  class Tick {
    static eventName = 'bench.tick';
    constructor(i, at) {
      this.i = i;
      this.at = at;
    }
    broadcastOn() {
      return lib.Channel('bench');
    }
    broadcastAs() {
      return 'tick';
    }
    shouldQueueBroadcast() {
      return queued;
    }
  }
  class BenchModule {}
  Module({
    imports: [
      lib.EventsModule.forRoot({ redis: redisUrl, prefix: `bench-${mode}` }),
      lib.EventsBroadcastingModule.forRoot({ authenticator: Anyone }),
    ],
  })(BenchModule);
  const app = await NestFactory.create(BenchModule, { logger: ['error'] });
  await app.listen(0, '127.0.0.1');
  const bus = app.get(lib.EventBus);
  return {
    port: app.getHttpServer().address().port,
    emit: (i) => bus.emit(new Tick(i, now())),
  };
}

const server = mode === 'plain' ? await plain() : await ours(mode === 'queued');
process.on('message', async ({ emit }) => {
  const pending = [];
  for (let i = 0; i < emit; i++) pending.push(server.emit(i));
  await Promise.all(pending);
  process.send({ sent: emit });
});
process.send({ port: server.port });
