import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { InvalidArgumentError, LivetraceError, TraceNotFoundError } from '../../core/errors.js';
import { assertValidId } from '../../core/ids.js';
import { exportFormatOf, exportTrace } from '../../server/export-trace.js';
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
  let doc: unknown;
  if (flags.server) {
    doc = await new ApiClient(flags.server, flags.token ?? ctx.env['LIVETRACE_TOKEN']).get(
      `/traces/${id}/export?format=${format}`,
    );
  } else {
    doc = await withTracer(ctx, flags, async ({ tracer }) => {
      if (!(await tracer.exists(id))) throw new TraceNotFoundError(id);
      return exportTrace(tracer, id, format);
    });
  }
  const text = JSON.stringify(doc);
  if (flags.otlpEndpoint !== undefined) {
    await postOtlp(flags.otlpEndpoint, text);
    ctx.io.err.write(`exported ${id} to ${flags.otlpEndpoint}\n`);
    return EXIT.OK;
  }
  if (flags.output !== undefined) {
    await writeFile(flags.output, text + '\n');
    ctx.io.err.write(`wrote ${flags.output}\n`);
  } else {
    ctx.io.out.write(jsonForTerminal(text) + '\n');
  }
  return EXIT.OK;
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
