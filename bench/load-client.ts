/**
 * The accept-rate benchmark's load client in a process of its own
 * (bench/server.bench.ts, "client in a child process"): sends the messages
 * and prints how long they took and how many failed, as one JSON line.
 * Usage: node load-client.js PORT RCPT MESSAGES CLIENTS
 */
import { sendMany } from './one-message.js';

const [port, rcpt, messages, clients] = process.argv.slice(2);
const started = performance.now();
const failed = await sendMany(Number(port), rcpt!, Number(messages), Number(clients));
console.log(JSON.stringify({ ms: performance.now() - started, failed }));
