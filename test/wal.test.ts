/**
 * Storage stays bounded (issue 11, point 5): launch-template versions are rows of their own (a new
 * version never rewrites the template), capped at EC2's 10,000 per template, and the WAL is
 * checkpointed with truncation while the server runs, so it stays within a few tens of MiB under any
 * write pattern, without a restart. The figures measured are printed as test diagnostics.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  CreateLaunchTemplateCommand,
  CreateLaunchTemplateVersionCommand,
  CreateTagsCommand,
  DeleteLaunchTemplateCommand,
  DeleteLaunchTemplateVersionsCommand,
  DescribeLaunchTemplateVersionsCommand,
  DescribeLaunchTemplatesCommand,
  type EC2Client,
  type LaunchTemplateVersion,
} from '@aws-sdk/client-ec2';
import Database from 'better-sqlite3';
import { setMaxVersionsPerTemplate } from '../src/api/launch-templates.js';
import type { LaunchTemplateRecord, LaunchTemplateVersionRecord } from '../src/domain/launch-template.js';
import { SqliteStore } from '../src/store/sqlite.js';
import { instanceRecord } from './fixtures.js';
import { LINUX_AMI, errorOf, launchOne, startTestServer } from './helpers.js';

const MiB = 1024 * 1024;
const walBytes = (dataDir: string) => statSync(join(dataDir, 'nestbox.db-wal'), { throwIfNoEntry: false })?.size ?? 0;
const mib = (n: number) => `${(n / MiB).toFixed(1)} MiB`;

async function allVersions(ec2: EC2Client, id: string): Promise<LaunchTemplateVersion[]> {
  const out: LaunchTemplateVersion[] = [];
  let NextToken: string | undefined;
  do {
    const r = await ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: id, MaxResults: 200, NextToken }));
    out.push(...(r.LaunchTemplateVersions ?? []));
    NextToken = r.NextToken;
  } while (NextToken);
  return out;
}

test('2,000 launch-template versions and 3,000 tag rewrites keep the WAL under 64 MiB without a restart', { timeout: 300_000 }, async (t) => {
  const srv = await startTestServer();
  try {
    const ec2 = srv.client();
    let peak = 0;
    const sample = () => {
      peak = Math.max(peak, walBytes(srv.dataDir));
    };
    // 6 KiB of user data per version: the template's versions add up to ~16 MiB
    const userData = Buffer.from('#!/bin/sh\n' + 'echo nested\n'.repeat(380)).toString('base64');
    const created = await ec2.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: 'wal-many-versions',
        LaunchTemplateData: { ImageId: LINUX_AMI, InstanceType: 'c8i.large', CpuOptions: { NestedVirtualization: 'enabled' } },
      }),
    );
    const id = created.LaunchTemplate!.LaunchTemplateId!;
    let started = Date.now();
    for (let i = 2; i <= 2000; i++) {
      await ec2.send(
        new CreateLaunchTemplateVersionCommand({
          LaunchTemplateId: id,
          SourceVersion: '1',
          VersionDescription: `v${i}`,
          LaunchTemplateData: { UserData: userData, InstanceType: i % 2 ? 'c8i.large' : 'm8i.large' },
        }),
      );
      sample();
    }
    const versionsMs = Date.now() - started;
    const afterVersions = peak;

    // 3,000 tag rewrites: the same keys with new values, on an instance and on the template
    const instance = (await launchOne(ec2)).InstanceId!;
    started = Date.now();
    for (let i = 0; i < 3000; i++) {
      await ec2.send(
        new CreateTagsCommand({
          Resources: [instance, id],
          Tags: Array.from({ length: 10 }, (_, k) => ({ Key: `k${k}`, Value: `${i}-${'v'.repeat(250)}` })),
        }),
      );
      sample();
    }
    const tagsMs = Date.now() - started;
    // and after a pause, the background checkpoint has emptied it
    await new Promise((r) => setTimeout(r, 1500));
    const settled = walBytes(srv.dataDir);
    const dbBytes = statSync(join(srv.dataDir, 'nestbox.db')).size;
    t.diagnostic(
      `WAL peak ${mib(afterVersions)} after 2,000 versions (${versionsMs} ms), ${mib(peak)} after 3,000 tag rewrites (${tagsMs} ms); ` +
        `${mib(settled)} 1.5 s later; database file ${mib(dbBytes)}`,
    );
    assert.ok(peak < 64 * MiB, `the WAL reached ${mib(peak)}`);

    // everything is there, in the running server and in the file
    const versions = await allVersions(ec2, id);
    assert.equal(versions.length, 2000);
    assert.equal(versions[0]?.VersionNumber, 2000);
    assert.equal(versions[0]?.LaunchTemplateData?.CpuOptions?.NestedVirtualization, 'enabled', 'inherited from version 1');
    const db = new Database(join(srv.dataDir, 'nestbox.db'), { readonly: true });
    try {
      const doc = (db.prepare("SELECT doc FROM resources WHERE kind = 'launch-template' AND id = ?").get(id) as { doc: string }).doc;
      assert.ok(doc.length < 2000, `the template's own row stays small (${doc.length} bytes)`);
      assert.equal((JSON.parse(doc) as Record<string, unknown>).versions, undefined);
      const rows = db.prepare('SELECT count(*) AS n FROM launch_template_versions WHERE template_id = ?').get(id) as { n: number };
      assert.equal(rows.n, 2000);
    } finally {
      db.close();
    }
  } finally {
    await srv.close();
  }
});

test('the WAL stays bounded when commits come back to back, with no pause for the checkpointer', { timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nestbox-wal-'));
  try {
    const truncations: number[] = [];
    const store = new SqliteStore({ dataDir: dir, walTruncateBytes: 16 * MiB, onWalTruncate: (n) => truncations.push(n) });
    let peak = 0;
    const big = 'A'.repeat(64 * 1024);
    /** each record's revision, for the conditional write that replaces it (1 when inserted, one more at each write) */
    const revs = new Map<string, number>();
    const started = Date.now();
    // 4,000 commits of a 64 KiB record (250 MiB written) back to back: no timer or I/O gets a turn in
    // between, and the checkpointer's thread finds few gaps between transactions
    for (let i = 1; i <= 4000; i++) {
      const id = `i-${(i % 500).toString(16).padStart(17, '0')}`;
      const rev = revs.get(id);
      await store.commit({ instances: [instanceRecord({ id, seq: i, userData: big, ...(rev !== undefined ? { rev } : {}) })] });
      revs.set(id, (rev ?? 0) + 1);
      if (i % 20 === 0) peak = Math.max(peak, walBytes(dir));
    }
    const ms = Date.now() - started;
    await new Promise((r) => setTimeout(r, 500));
    t.diagnostic(
      `4,000 × 64 KiB commits back to back (${ms} ms): WAL peak ${mib(peak)}; the checkpointer's thread truncated it ${truncations.length} times (largest log ${mib(Math.max(0, ...truncations))}), the commits themselves past ${mib(32 * MiB)}`,
    );
    assert.ok(peak < 64 * MiB, `the WAL reached ${mib(peak)}`);
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('versions are rows of their own: they survive a restart, deletes included, and go with their template', async () => {
  let srv = await startTestServer();
  try {
    let ec2 = srv.client();
    const created = await ec2.send(
      new CreateLaunchTemplateCommand({ LaunchTemplateName: 'rows', LaunchTemplateData: { ImageId: LINUX_AMI, InstanceType: 'c8i.large' } }),
    );
    const id = created.LaunchTemplate!.LaunchTemplateId!;
    for (let i = 2; i <= 30; i++) {
      await ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateId: id, SourceVersion: '$Latest', VersionDescription: `v${i}`, LaunchTemplateData: { KeyName: `k${i}` } }));
    }
    await ec2.send(new DeleteLaunchTemplateVersionsCommand({ LaunchTemplateId: id, Versions: ['30', '7', '8'] }));
    const before = await allVersions(ec2, id);
    assert.equal(before.length, 27);
    assert.equal(before[0]?.VersionNumber, 29, '$Latest is now 29');

    srv = await srv.restart();
    ec2 = srv.client();
    const after = await allVersions(ec2, id);
    assert.deepEqual(after, before);
    const [template] = (await ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [id] }))).LaunchTemplates ?? [];
    assert.equal(template?.LatestVersionNumber, 29);
    assert.equal(template?.DefaultVersionNumber, 1);
    // numbers are never reused, even those of deleted versions
    const next = await ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateId: id, SourceVersion: '1', LaunchTemplateData: {} }));
    assert.equal(next.LaunchTemplateVersion?.VersionNumber, 31);

    await ec2.send(new DeleteLaunchTemplateCommand({ LaunchTemplateId: id }));
    srv = await srv.restart();
    assert.deepEqual(await srv.nestbox.services.store.templateVersions(id), []);
    const db = new Database(join(srv.dataDir, 'nestbox.db'), { readonly: true });
    try {
      assert.equal((db.prepare('SELECT count(*) AS n FROM launch_template_versions').get() as { n: number }).n, 0);
    } finally {
      db.close();
    }
  } finally {
    await srv.close();
  }
});

test('a database written before versions had rows of their own is migrated: each version becomes a row', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nestbox-migrate-'));
  try {
    // the schema of user_version 2, with a template stored the old way (versions inside its document)
    const old = new Database(join(dir, 'nestbox.db'));
    old.exec(`CREATE TABLE instances (id TEXT PRIMARY KEY, account TEXT NOT NULL, region TEXT NOT NULL, doc TEXT NOT NULL);
      CREATE TABLE tags (resource_id TEXT NOT NULL, key TEXT NOT NULL, resource_type TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (resource_id, key));
      CREATE TABLE client_tokens (account TEXT NOT NULL, region TEXT NOT NULL, token TEXT NOT NULL, fingerprint TEXT NOT NULL, reservation_id TEXT NOT NULL, PRIMARY KEY (account, region, token));
      CREATE TABLE resources (kind TEXT NOT NULL, id TEXT NOT NULL, account TEXT NOT NULL, region TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (kind, id));`);
    old.pragma('user_version = 2');
    const version = (n: number): LaunchTemplateVersionRecord => ({
      number: n,
      description: `v${n}`,
      createTime: '2026-11-26T00:00:00.000Z',
      data: { ImageId: LINUX_AMI, InstanceType: 'c8i.large', CpuOptions: { NestedVirtualization: 'enabled' }, KeyName: `k${n}` },
      ...(n === 3 ? { clientToken: 'tok', fingerprint: 'fp' } : {}),
    });
    const oldDoc = {
      id: 'lt-0123456789abcdef0',
      account: '000000000000',
      region: 'us-east-1',
      name: 'from-before',
      createTime: '2026-11-26T00:00:00.000Z',
      createdBy: 'arn:aws:iam::000000000000:root',
      defaultVersion: 2,
      lastVersionNumber: 4,
      versions: [version(1), version(2), version(4)],
    };
    old.prepare('INSERT INTO resources (kind, id, account, region, doc) VALUES (?, ?, ?, ?, ?)').run(
      'launch-template',
      oldDoc.id,
      oldDoc.account,
      oldDoc.region,
      JSON.stringify(oldDoc),
    );
    old.close();

    const store = new SqliteStore({ dataDir: dir });
    const t = (await store.resource('launch-template', oldDoc.id)) as LaunchTemplateRecord & { versions?: unknown };
    assert.equal(t.versions, undefined, 'the document no longer holds its versions');
    assert.equal(t.lastVersionNumber, 4);
    assert.equal(t.defaultVersion, 2);
    assert.deepEqual(await store.templateVersions(oldDoc.id), [version(1), version(2), version(4)]);
    assert.deepEqual(await store.templateVersion(oldDoc.id, 4), version(4));
    await store.close();
    const db = new Database(join(dir, 'nestbox.db'), { readonly: true });
    try {
      assert.equal(db.pragma('user_version', { simple: true }), 4, "migrated on to the current store's schema");
      const doc = JSON.parse((db.prepare('SELECT doc FROM resources WHERE id = ?').get(oldDoc.id) as { doc: string }).doc) as Record<string, unknown>;
      assert.equal(doc.versions, undefined);
      assert.deepEqual(db.prepare('SELECT number FROM launch_template_versions ORDER BY number').all(), [{ number: 1 }, { number: 2 }, { number: 4 }]);
    } finally {
      db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a template holds at most the cap of versions: MaxTemplateVersionLimitExceeded, nothing stored, room again after a delete', async () => {
  const srv = await startTestServer();
  const restore = setMaxVersionsPerTemplate(5);
  try {
    const ec2 = srv.client();
    const id = (
      await ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'capped', LaunchTemplateData: { ImageId: LINUX_AMI } }))
    ).LaunchTemplate!.LaunchTemplateId!;
    for (let i = 2; i <= 5; i++) await ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateId: id, LaunchTemplateData: { KeyName: `k${i}` } }));
    const e = await errorOf(ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateId: id, LaunchTemplateData: { KeyName: 'k6' } })));
    assert.equal(e.code, 'MaxTemplateVersionLimitExceeded');
    assert.equal(e.status, 400);
    assert.match(e.message, new RegExp(`launch template ${id} has 5 versions`));
    assert.equal((await allVersions(ec2, id)).length, 5);
    const [t] = (await ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [id] }))).LaunchTemplates ?? [];
    assert.equal(t?.LatestVersionNumber, 5, 'the refused version took no number');
    // DryRun still answers DryRunOperation (a permission check, before the quota)
    assert.equal((await errorOf(ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateId: id, LaunchTemplateData: {}, SourceVersion: '1', DryRun: true })))).code, 'DryRunOperation');
    await ec2.send(new DeleteLaunchTemplateVersionsCommand({ LaunchTemplateId: id, Versions: ['3'] }));
    const again = await ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateId: id, LaunchTemplateData: { KeyName: 'k6' } }));
    assert.equal(again.LaunchTemplateVersion?.VersionNumber, 6);
  } finally {
    restore();
    await srv.close();
  }
});

test("EC2's real cap: the 10,000th version is created, the 10,001st is refused", { timeout: 60_000 }, async () => {
  const srv = await startTestServer();
  try {
    const ec2 = srv.client();
    const id = (
      await ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'ten-thousand', LaunchTemplateData: { ImageId: LINUX_AMI } }))
    ).LaunchTemplate!.LaunchTemplateId!;
    // versions 2 … 9,999 straight into the store (one commit), then the last ones through the API
    const store = srv.nestbox.services.store;
    const t = (await store.resource('launch-template', id))!;
    const createTime = new Date().toISOString();
    await store.commit({
      putResources: [{ kind: 'launch-template', doc: { ...t, lastVersionNumber: 9999 } }],
      putTemplateVersions: Array.from({ length: 9998 }, (_, k) => ({
        templateId: id,
        version: { number: k + 2, createTime, data: { InstanceType: 'c8i.large' } } satisfies LaunchTemplateVersionRecord,
      })),
    });
    const last = await ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateId: id, LaunchTemplateData: { KeyName: 'last' } }));
    assert.equal(last.LaunchTemplateVersion?.VersionNumber, 10_000);
    const e = await errorOf(ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateId: id, LaunchTemplateData: { KeyName: 'one-more' } })));
    assert.equal(e.code, 'MaxTemplateVersionLimitExceeded');
    assert.equal((await store.templateVersions(id)).length, 10_000);
    // and the template still answers quickly: $Latest, $Default and a number in the middle
    const r = await ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: id, Versions: ['$Latest', '$Default', '5000'] }));
    assert.deepEqual(r.LaunchTemplateVersions?.map((v) => v.VersionNumber), [10_000, 5000, 1]);
  } finally {
    await srv.close();
  }
});
