import type { Command } from 'commander';
import type { ListQuery, ListResult, TraceInfo, TraceStatus } from '../../core/types.js';
import { InvalidArgumentError } from '../../core/errors.js';
import { ApiClient } from '../api-client.js';
import {
  addServerOptions,
  addStoreOptions,
  withTracer,
  type CliContext,
  type Run,
  type StoreFlags,
} from '../context.js';
import { EXIT } from '../exit-codes.js';
import {
  formatDuration,
  formatTime,
  escapeTerminal,
  jsonForTerminal,
  paintStatus,
  statusSymbol,
  table,
  terminalSafe,
  truncate,
} from '../output.js';
import { parsePositiveInt, parseTimeOption } from './parse.js';

interface LsFlags extends StoreFlags {
  status?: string;
  createdBy?: string;
  team?: string;
  tenant?: string;
  from?: number;
  to?: number;
  limit: number;
  cursor?: string;
  json?: boolean;
  server?: string;
  token?: string;
}

const STATUSES = new Set(['pending', 'running', 'completed', 'failed', 'cancelled']);

export function registerLs(program: Command, ctx: CliContext, done: Run): void {
  const cmd = program
    .command('ls')
    .description('list traces, newest first')
    .option('--status <list>', 'comma-separated: pending, running, completed, failed, cancelled')
    .option('--created-by <who>', 'only traces created by <who>')
    .option('--team <id>', 'only traces of this team')
    .option('--tenant <id>', 'only traces of this tenant')
    .option('--from <time>', 'created at or after: epoch ms, ISO date, or a duration ago (2h, 7d)', parseTimeOption)
    .option('--to <time>', 'created at or before (same forms as --from)', parseTimeOption)
    .option('-n, --limit <n>', 'traces per page (max 1000)', parsePositiveInt, 20)
    .option('--cursor <cursor>', 'continue a listing (printed at the end of a full page)')
    .option('--json', 'print the listing as JSON');
  addServerOptions(addStoreOptions(cmd)).action((flags: LsFlags) => done(ls(ctx, flags)));
}

function queryOf(flags: LsFlags): ListQuery {
  const q: ListQuery = { limit: Math.min(flags.limit, 1000) };
  if (flags.status) {
    const list = flags.status
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    for (const s of list)
      if (!STATUSES.has(s))
        throw new InvalidArgumentError(
          `--status: unknown status ${JSON.stringify(s)}; use ${[...STATUSES].join(', ')}`,
        );
    q.status = list.length === 1 ? (list[0] as TraceStatus) : (list as TraceStatus[]);
  }
  if (flags.createdBy !== undefined) q.createdBy = flags.createdBy;
  if (flags.team !== undefined) q.teamId = flags.team;
  if (flags.tenant !== undefined) q.tenantId = flags.tenant;
  if (flags.from !== undefined) q.from = flags.from;
  if (flags.to !== undefined) q.to = flags.to;
  if (flags.cursor !== undefined) q.cursor = flags.cursor;
  return q;
}

async function remoteList(flags: LsFlags, q: ListQuery, ctx: CliContext): Promise<ListResult> {
  const client = new ApiClient(flags.server!, flags.token ?? ctx.env['LIVETRACE_TOKEN']);
  const params = new URLSearchParams();
  if (q.status !== undefined) params.set('status', Array.isArray(q.status) ? q.status.join(',') : q.status);
  if (q.createdBy !== undefined) params.set('created_by', q.createdBy);
  if (q.teamId !== undefined) params.set('team_id', q.teamId);
  if (q.tenantId !== undefined) params.set('tenant_id', q.tenantId);
  if (q.from !== undefined) params.set('from', String(q.from));
  if (q.to !== undefined) params.set('to', String(q.to));
  if (q.limit !== undefined) params.set('limit', String(q.limit));
  if (q.cursor !== undefined) params.set('cursor', q.cursor);
  const r = await client.get<{ traces: TraceInfo[]; next_cursor?: string }>(`/traces?${params}`);
  return r.next_cursor === undefined ? { traces: r.traces } : { traces: r.traces, nextCursor: r.next_cursor };
}

async function ls(ctx: CliContext, flags: LsFlags): Promise<number> {
  const q = queryOf(flags);
  const result = flags.server
    ? await remoteList(flags, q, ctx)
    : await withTracer(ctx, flags, ({ tracer }) => tracer.list(q));
  const { io } = ctx;
  const c = io.colors;
  if (flags.json) {
    io.out.write(
      jsonForTerminal(
        JSON.stringify(
          result.nextCursor === undefined
            ? { traces: result.traces }
            : { traces: result.traces, next_cursor: result.nextCursor },
          null,
          2,
        ),
      ) + '\n',
    );
    return EXIT.OK;
  }
  if (result.traces.length === 0) {
    io.err.write(c.dim('no traces') + '\n');
    return EXIT.OK;
  }
  const now = Date.now();
  // Trace content is untrusted: control characters are escaped before anything is printed.
  const rows = terminalSafe(result.traces).map((t) => [
    t.id,
    paintStatus(c, t.status, `${statusSymbol(t.status)} ${t.status}`),
    truncate(t.agent_name ?? '-', 24),
    truncate(t.label ?? '-', 28),
    String(t.node_count ?? '-'),
    formatDuration(t.duration ?? (t.status === 'running' ? now - t.created_at : undefined)),
    formatTime(t.created_at) + (t.archived ? c.dim(' (archived)') : ''),
  ]);
  io.out.write(table(['ID', 'STATUS', 'AGENT', 'ROOT', 'NODES', 'DURATION', 'CREATED'], rows, c));
  if (result.nextCursor) io.err.write(c.dim(`more: livetrace ls --cursor ${escapeTerminal(result.nextCursor)}`) + '\n');
  return EXIT.OK;
}
