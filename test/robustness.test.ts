/**
 * Bad input never crashes an operation: every operation nestbox implements gets requests built from
 * its own input schema — each member, one at a time, set to values of the wrong kind, out of range,
 * empty, or absurd — and must answer with an EC2 document (success or a client error), never with
 * InternalError, a 5xx other than NotImplemented, or anything the server had to log as unexpected.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { OPERATIONS } from '../src/api/operations.js';
import { DEFAULTS } from '../src/config.js';
import type { Logger } from '../src/logger.js';
import { type Nestbox, startNestbox } from '../src/main.js';
import { operationSchema } from '../src/protocol/schema.js';
import { keysOf } from './input-keys.js';

/** Values of every kind a member can be sent with; each is wrong for most members. */
const JUNK = ['', 'x', '-1', '0', '1e400', '99999999999999999999', 'true', '$Latest', 'i-0123456789abcdef0', 'ä\u0000<&>', 'x'.repeat(300)];

let nestbox: Nestbox;
let dataDir: string;
const unexpected: string[] = [];
const log: Logger = {
  info: () => {},
  request: () => {},
  warn: (line) => {
    if (line.startsWith('InternalError')) unexpected.push(line);
  },
};

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'nestbox-robust-'));
  nestbox = await startNestbox(
    { ...DEFAULTS, port: 0, dataDir, driver: 'simulated', simulatedDelayMs: 20, quiet: true, credentials: undefined },
    log,
  );
});
after(async () => {
  await nestbox.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function call(action: string, params: Record<string, string>): Promise<{ status: number; body: string }> {
  const res = await fetch(nestbox.endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ Action: action, Version: '2016-11-15', ...params }),
  });
  return { status: res.status, body: await res.text() };
}

test('every operation answers junk in every member with an EC2 document, never InternalError', async () => {
  let requests = 0;
  for (const action of Object.keys(OPERATIONS)) {
    const schema = operationSchema(action);
    assert.ok(schema, action);
    const keys = keysOf(schema.input);
    for (const params of [{}, ...keys.flatMap((key) => JUNK.map((value) => ({ [key]: value })))]) {
      const { status, body } = await call(action, params);
      requests++;
      const where = `${action} ${JSON.stringify(params)} → ${status}`;
      assert.ok(status < 500 || (status === 501 && body.includes('<Code>NotImplemented</Code>')), `${where}: ${body.slice(0, 300)}`);
      assert.match(body, status === 200 ? new RegExp(`^<\\?xml[^>]*>\\s*<${action}Response`) : /<Response><Errors><Error><Code>[\w.]+<\/Code><Message>/, where);
      assert.doesNotMatch(body, /\bat .+\.(ts|js):\d+/, `${where}: a stack trace on the wire`);
    }
  }
  assert.deepEqual(unexpected, [], 'the server logged unexpected errors');
  assert.ok(requests > 1000, `only ${requests} requests were made`);

});
