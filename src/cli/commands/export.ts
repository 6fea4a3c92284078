import { createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { InvalidArgumentError, LivetraceError, TraceNotFoundError } from '../../core/errors.js';
import { assertValidId } from '../../core/ids.js';
import { exportChunks, exportFormatOf } from '../../server/export-trace.js';
import { ApiClient, UnreachableError } from '../api-client.js';
import {
  addServerOptions,
  addStoreOptions,
  withTracer,
  type CliContext,
  type Run,
  type StoreFlags,
} from '../context.js';
import { EXIT } from '../exit-codes.js';
import { jsonForTerminal } from '../output.js';

interface ExportFlags extends StoreFlags {
  format?: string;
  output?: string;
  otlpEndpoint?: string;
  server?: string;
  token?: string;
}

export function registerExport(program: Command, ctx: CliContext, done: Run): void {
  const cmd = program
    .command('export <id>')
    .description(
      'export a trace: json (livetrace format, re-importable) or otlp (OTLP/JSON); to stdout, a file, or an OTLP collector',
    )
    .option('-f, --format <format>', 'json or otlp (default: json)')
    .option('-o, --output <file>', 'write to <file> instead of stdout')
    .option(
      '--otlp-endpoint <url>',
      'POST the OTLP/JSON export to this URL (e.g. http://127.0.0.1:4318/v1/traces); implies --format otlp',
    );
  addServerOptions(addStoreOptions(cmd)).action((id: string, flags: ExportFlags) => done(exportCmd(ctx, id, flags)));
}

async function exportCmd(ctx: CliContext, id: string, flags: ExportFlags): Promise<number> {
  assertValidId(id);
  if (flags.otlpEndpoint !== undefined && flags.format !== undefined && flags.format !== 'otlp') {
    throw new InvalidArgumentError('--otlp-endpoint sends OTLP: drop --format or use --format otlp');
  }
  const format = exportFormatOf(flags.otlpEndpoint !== undefined ? 'otlp' : flags.format);
  if (flags.server) {
    const res = await new ApiClient(flags.server, flags.token ?? ctx.env['LIVETRACE_TOKEN']).fetch(
      `/traces/${id}/export?format=${format}`,
    );
    // The server streams the document too: pass its bytes on as they come.
    await deliver(ctx, id, flags, serverBody(flags.server, res));
  } else {
    await withTracer(ctx, flags, async ({ tracer }) => {
      const snapshot = await tracer.read(id);
      if (!snapshot) throw new TraceNotFoundError(id);
      // Written while the tracer is open: the log is read a page at a time as the output drains.
      await deliver(ctx, id, flags, exportChunks(tracer, snapshot, format));
    });
  }
  return EXIT.OK;
}

type Chunks = AsyncIterable<string | Uint8Array>;

/**
 * Writes the export document (then a newline) to the OTLP endpoint, `-o <file>` or stdout.
 * File and stdout get it streamed with backpressure: memory holds one page of events, not the
 * document. The OTLP document is the snapshot alone (no event log), so it is POSTed whole.
 */
async function deliver(ctx: CliContext, id: string, flags: ExportFlags, chunks: Chunks): Promise<void> {
  if (flags.otlpEndpoint !== undefined) {
    let text = '';
    for await (const chunk of decoded(chunks)) text += chunk;
    await postOtlp(flags.otlpEndpoint, text);
    ctx.io.err.write(`exported ${id} to ${flags.otlpEndpoint}\n`);
    return;
  }
  if (flags.output !== undefined) {
    const file = flags.output;
    try {
      await pipeline(Readable.from(withNewline(chunks)), createWriteStream(file));
    } catch (err) {
      // No half document left behind (a FIFO or a device is left alone).
      if ((await stat(file).catch(() => undefined))?.isFile()) await rm(file, { force: true });
      throw err;
    }
    ctx.io.err.write(`wrote ${file}\n`);
    return;
  }
  const terminal = async function* (): AsyncGenerator<string> {
    for await (const chunk of decoded(withNewline(chunks))) yield jsonForTerminal(chunk);
  };
  await pipeline(Readable.from(terminal()), ctx.io.out, { end: false });
}

async function* withNewline(chunks: Chunks): AsyncGenerator<string | Uint8Array> {
  yield* chunks;
  yield '\n';
}

/** Chunks as text; bytes are decoded as a stream (a character split across chunks stays whole). */
async function* decoded(chunks: Chunks): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  for await (const chunk of chunks) yield typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
  const rest = decoder.decode();
  if (rest !== '') yield rest;
}

/** A server's response body; a connection lost mid-document is the server being unreachable. */
async function* serverBody(server: string, res: Response): AsyncGenerator<Uint8Array> {
  if (!res.body) return;
  const reader = res.body.getReader();
  try {
    for (;;) {
      let next: ReadableStreamReadResult<Uint8Array>;
      try {
        next = await reader.read();
      } catch (err) {
        throw new UnreachableError(server, err);
      }
      if (next.done) return;
      yield next.value;
    }
  } finally {
    // Stopped early (the output failed): drop the rest of the response.
    await reader.cancel().catch(() => undefined);
  }
}

async function postOtlp(endpoint: string, body: string): Promise<void> {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new InvalidArgumentError(`--otlp-endpoint must be an http(s) URL, got ${JSON.stringify(endpoint)}`);
  }
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  } catch (err) {
    throw new UnreachableError(endpoint, err);
  }
  if (!res.ok) {
    const detail = (await res.text().catch(() => '')).slice(0, 200);
    throw new LivetraceError(
      'LT_ERR_INTERNAL',
      `the OTLP endpoint answered HTTP ${res.status}${detail ? `: ${detail}` : ''}`,
    );
  }
  await res.arrayBuffer().catch(() => undefined);
}
