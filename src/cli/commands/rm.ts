import type { Command } from 'commander';
import { assertValidId } from '../../core/ids.js';
import { addStoreOptions, withTracer, type CliContext, type Run, type StoreFlags } from '../context.js';
import { EXIT } from '../exit-codes.js';

export function registerRm(program: Command, ctx: CliContext, done: Run): void {
  const cmd = program
    .command('rm <ids...>')
    .description('delete traces from the store (exit 3 if one of them did not exist)');
  addStoreOptions(cmd).action((ids: string[], flags: StoreFlags) => done(rm(ctx, ids, flags)));
}

async function rm(ctx: CliContext, ids: string[], flags: StoreFlags): Promise<number> {
  ids.forEach((id) => assertValidId(id));
  const c = ctx.io.colors;
  return withTracer(ctx, flags, async ({ tracer }) => {
    let missing = 0;
    for (const id of ids) {
      if (await tracer.remove(id)) ctx.io.out.write(`removed ${id}\n`);
      else {
        missing++;
        ctx.io.err.write(c.yellow(`${id}: LT_ERR_TRACE_NOT_FOUND: trace ${id} not found`) + '\n');
      }
    }
    return missing > 0 ? EXIT.NOT_FOUND : EXIT.OK;
  });
}
