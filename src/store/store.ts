/**
 * Durable state: SQLite (better-sqlite3, WAL) with an in-memory mirror for reads.
 *
 * Every change goes through `commit()`, one SQLite transaction; the mirror is updated only after the
 * transaction committed, so a failed write leaves nothing half-applied and an acknowledged change is
 * always on disk first. better-sqlite3 is synchronous, so a read-decide-commit sequence without an
 * `await` in between is atomic (compare-and-set for free).
 */
import Database from 'better-sqlite3';
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { FleetRecord } from '../domain/fleet.js';
import type { HostRecord } from '../domain/host.js';
import { type InstanceRecord, rootVolumeId } from '../domain/instance.js';
import type { KeyPairRecord } from '../domain/key-pair.js';
import type { LaunchTemplateRecord, LaunchTemplateVersionRecord } from '../domain/launch-template.js';
import { type Checkpointer, startCheckpointer } from './checkpointer.js';

export interface TagRecord {
  readonly resourceId: string;
  readonly resourceType: string;
  readonly key: string;
  readonly value: string;
}

export interface ClientTokenRecord {
  readonly account: string;
  readonly region: string;
  readonly token: string;
  readonly fingerprint: string;
  readonly reservationId: string;
}

/**
 * The resources other than instances, each kept as one JSON document under its kind and ID. A launch
 * template's document holds none of its versions: they are rows of their own (putTemplateVersions).
 */
export interface ResourceDocs {
  'launch-template': LaunchTemplateRecord;
  'key-pair': KeyPairRecord;
  'dedicated-host': HostRecord;
  fleet: FleetRecord;
}
export type StoredKind = keyof ResourceDocs;
/** One resource to write: its kind and its whole document. */
export type ResourcePut = { [K in StoredKind]: { readonly kind: K; readonly doc: ResourceDocs[K] } }[StoredKind];

export interface Changes {
  readonly instances?: readonly InstanceRecord[];
  /** deleting an instance deletes its tags and its root volume's (the volume goes with the instance) */
  readonly deleteInstances?: readonly string[];
  readonly putResources?: readonly ResourcePut[];
  /** deleting a resource deletes its tags too */
  readonly deleteResources?: readonly { readonly kind: StoredKind; readonly id: string }[];
  readonly putTags?: readonly TagRecord[];
  readonly deleteTags?: readonly { readonly resourceId: string; readonly key: string }[];
  readonly clientToken?: ClientTokenRecord;
  /** launch-template versions, one row each (a new version never rewrites the others); deleting the template deletes them */
  readonly putTemplateVersions?: readonly { readonly templateId: string; readonly version: LaunchTemplateVersionRecord }[];
  readonly deleteTemplateVersions?: readonly { readonly templateId: string; readonly number: number }[];
}

export interface StoreOptions {
  /** directory for nestbox.db; ':memory:' keeps nothing on disk (tests) */
  readonly dataDir: string;
  /** fsync every commit (synchronous=FULL) instead of at WAL checkpoints (NORMAL) */
  readonly fsync?: boolean;
  /** how often the WAL is checkpointed, off the request path (default 1000 ms) */
  readonly checkpointIntervalMs?: number;
  /** a WAL file larger than this is checkpointed with truncation at once (default 16 MiB; see checkpointer.ts) */
  readonly walTruncateBytes?: number;
  /** called with the WAL's size each time it was checkpointed with truncation (tests) */
  readonly onWalTruncate?: (walBytes: number) => void;
  readonly warn?: (line: string) => void;
}

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE instances (
     id TEXT PRIMARY KEY,
     account TEXT NOT NULL,
     region TEXT NOT NULL,
     doc TEXT NOT NULL
   );
   CREATE TABLE tags (
     resource_id TEXT NOT NULL,
     key TEXT NOT NULL,
     resource_type TEXT NOT NULL,
     value TEXT NOT NULL,
     PRIMARY KEY (resource_id, key)
   );
   CREATE TABLE client_tokens (
     account TEXT NOT NULL,
     region TEXT NOT NULL,
     token TEXT NOT NULL,
     fingerprint TEXT NOT NULL,
     reservation_id TEXT NOT NULL,
     PRIMARY KEY (account, region, token)
   );`,
  `CREATE TABLE resources (
     kind TEXT NOT NULL,
     id TEXT NOT NULL,
     account TEXT NOT NULL,
     region TEXT NOT NULL,
     doc TEXT NOT NULL,
     PRIMARY KEY (kind, id)
   );`,
  // Launch-template versions move out of the template's document into one row each, so a new version
  // writes one small row instead of the whole template (10,000 versions made a 1 MB document rewritten
  // on every CreateLaunchTemplateVersion). Existing documents are split in place.
  `CREATE TABLE launch_template_versions (
     template_id TEXT NOT NULL,
     number INTEGER NOT NULL,
     doc TEXT NOT NULL,
     PRIMARY KEY (template_id, number)
   );
   INSERT INTO launch_template_versions (template_id, number, doc)
     SELECT r.id, json_extract(v.value, '$.number'), v.value
     FROM resources AS r, json_each(r.doc, '$.versions') AS v
     WHERE r.kind = 'launch-template';
   UPDATE resources SET doc = json_remove(doc, '$.versions') WHERE kind = 'launch-template';`,
];

/** A WAL file left larger than this after a checkpoint is cut back to it when the log restarts. */
const JOURNAL_SIZE_LIMIT = 4 * 1024 * 1024;
const DEFAULT_WAL_TRUNCATE_BYTES = 16 * 1024 * 1024;
/** About this many bytes written between two looks at the WAL's size from the request path. */
const WAL_LOOK_EVERY_BYTES = 1024 * 1024;
/** A page per row written, besides its document: what a commit adds to the WAL, roughly. */
const PAGE_BYTES = 4096;

/** One template's versions in memory: ascending by number, and by number. */
interface VersionList {
  readonly list: LaunchTemplateVersionRecord[];
  readonly byNumber: Map<number, LaunchTemplateVersionRecord>;
}
const NO_VERSIONS: readonly LaunchTemplateVersionRecord[] = Object.freeze([]);

type TagMap = Map<string, string>;

export class Store {
  private readonly db: Database.Database;
  private readonly instanceById = new Map<string, InstanceRecord>();
  private readonly tagsById = new Map<string, { type: string; tags: TagMap }>();
  private readonly tokens = new Map<string, ClientTokenRecord>();
  private readonly resourcesByKind = new Map<StoredKind, Map<string, ResourceDocs[StoredKind]>>();
  private readonly versionsByTemplate = new Map<string, VersionList>();
  private readonly statements;
  private readonly checkpointer: Checkpointer | undefined;
  /** the -wal file, when there is one, and the size past which a commit checkpoints it itself */
  private readonly wal: { readonly file: string; readonly hardLimit: number } | undefined;
  /** bytes written (roughly) since the WAL's size was last looked at */
  private writtenSinceLook = 0;

  constructor(opts: StoreOptions) {
    const file = opts.dataDir === ':memory:' ? ':memory:' : join(mkdirOrThrow(opts.dataDir), 'nestbox.db');
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${opts.fsync ? 'FULL' : 'NORMAL'}`);
    this.db.pragma('foreign_keys = ON');
    this.migrate();
    if (file !== ':memory:') {
      this.db.pragma('wal_autocheckpoint = 0');
      this.db.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT}`);
      const truncateAbove = opts.walTruncateBytes ?? DEFAULT_WAL_TRUNCATE_BYTES;
      // The worker keeps the WAL under truncateAbove whenever writes leave it a moment; commits that come
      // back to back without one (a tight loop) truncate it themselves past twice that.
      this.wal = { file: `${file}-wal`, hardLimit: 2 * truncateAbove };
      this.checkpointer = startCheckpointer(file, {
        intervalMs: opts.checkpointIntervalMs ?? 1000,
        truncateAboveBytes: truncateAbove,
        warn: opts.warn ?? (() => {}),
        ...(opts.onWalTruncate ? { onTruncate: opts.onWalTruncate } : {}),
      });
    }
    this.statements = {
      putInstance: this.db.prepare('INSERT OR REPLACE INTO instances (id, account, region, doc) VALUES (?, ?, ?, ?)'),
      deleteInstance: this.db.prepare('DELETE FROM instances WHERE id = ?'),
      deleteResourceTags: this.db.prepare('DELETE FROM tags WHERE resource_id = ?'),
      // An upsert keeps the row (and so the tag's place in the order tags were first set).
      putTag: this.db.prepare(
        'INSERT INTO tags (resource_id, key, resource_type, value) VALUES (?, ?, ?, ?) ON CONFLICT (resource_id, key) DO UPDATE SET value = excluded.value',
      ),
      deleteTag: this.db.prepare('DELETE FROM tags WHERE resource_id = ? AND key = ?'),
      // An upsert keeps the row, so listings keep creation order.
      putResource: this.db.prepare(
        'INSERT INTO resources (kind, id, account, region, doc) VALUES (?, ?, ?, ?, ?) ON CONFLICT (kind, id) DO UPDATE SET doc = excluded.doc',
      ),
      deleteResource: this.db.prepare('DELETE FROM resources WHERE kind = ? AND id = ?'),
      putToken: this.db.prepare(
        'INSERT INTO client_tokens (account, region, token, fingerprint, reservation_id) VALUES (?, ?, ?, ?, ?)',
      ),
      putTemplateVersion: this.db.prepare(
        'INSERT OR REPLACE INTO launch_template_versions (template_id, number, doc) VALUES (?, ?, ?)',
      ),
      deleteTemplateVersion: this.db.prepare('DELETE FROM launch_template_versions WHERE template_id = ? AND number = ?'),
      deleteTemplateVersions: this.db.prepare('DELETE FROM launch_template_versions WHERE template_id = ?'),
    };
    this.load();
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    for (let v = version; v < MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v] as string);
        this.db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  private load(): void {
    for (const row of this.db.prepare('SELECT doc FROM instances').all() as { doc: string }[]) {
      const rec = JSON.parse(row.doc) as InstanceRecord;
      this.instanceById.set(rec.id, rec);
    }
    // Listings follow creation order.
    const sorted = [...this.instanceById.values()].sort((a, b) => a.seq - b.seq);
    this.instanceById.clear();
    for (const rec of sorted) this.instanceById.set(rec.id, rec);
    for (const row of this.db.prepare('SELECT resource_id, key, resource_type, value FROM tags ORDER BY rowid').all() as {
      resource_id: string;
      key: string;
      resource_type: string;
      value: string;
    }[]) {
      this.tagEntry(row.resource_id, row.resource_type).tags.set(row.key, row.value);
    }
    for (const row of this.db.prepare('SELECT kind, doc FROM resources ORDER BY rowid').all() as { kind: StoredKind; doc: string }[]) {
      const doc = JSON.parse(row.doc) as ResourceDocs[StoredKind];
      this.kindMap(row.kind).set(doc.id, doc);
    }
    const versions = this.db.prepare('SELECT template_id, doc FROM launch_template_versions ORDER BY template_id, number');
    for (const row of versions.iterate() as IterableIterator<{ template_id: string; doc: string }>) {
      this.addVersion(row.template_id, JSON.parse(row.doc) as LaunchTemplateVersionRecord);
    }
    for (const row of this.db.prepare('SELECT * FROM client_tokens').all() as {
      account: string;
      region: string;
      token: string;
      fingerprint: string;
      reservation_id: string;
    }[]) {
      const rec = { ...row, reservationId: row.reservation_id };
      this.tokens.set(tokenKey(rec), rec);
    }
  }

  private tagEntry(resourceId: string, type: string): { type: string; tags: TagMap } {
    let entry = this.tagsById.get(resourceId);
    if (!entry) {
      entry = { type, tags: new Map() };
      this.tagsById.set(resourceId, entry);
    }
    return entry;
  }

  /** Adds (or replaces) a version; numbers only grow, so a new one goes at the end. */
  private addVersion(templateId: string, version: LaunchTemplateVersionRecord): void {
    let entry = this.versionsByTemplate.get(templateId);
    if (!entry) {
      entry = { list: [], byNumber: new Map() };
      this.versionsByTemplate.set(templateId, entry);
    }
    const { list, byNumber } = entry;
    if (byNumber.has(version.number)) list[list.findIndex((v) => v.number === version.number)] = version;
    else if (list.length === 0 || list[list.length - 1]!.number < version.number) list.push(version);
    else {
      list.push(version);
      list.sort((a, b) => a.number - b.number);
    }
    byNumber.set(version.number, version);
  }

  private kindMap(kind: StoredKind): Map<string, ResourceDocs[StoredKind]> {
    let map = this.resourcesByKind.get(kind);
    if (!map) {
      map = new Map();
      this.resourcesByKind.set(kind, map);
    }
    return map;
  }

  /** Applies all changes in one transaction; the in-memory view changes only once it has committed. */
  commit(changes: Changes): void {
    const s = this.statements;
    let written = 0;
    this.db.transaction(() => {
      for (const rec of changes.instances ?? []) {
        const doc = JSON.stringify(rec);
        written += doc.length;
        s.putInstance.run(rec.id, rec.account, rec.region, doc);
      }
      for (const id of changes.deleteInstances ?? []) {
        s.deleteInstance.run(id);
        for (const tagged of taggedWithInstance(id)) s.deleteResourceTags.run(tagged);
      }
      for (const { kind, doc } of changes.putResources ?? []) {
        const text = JSON.stringify(doc);
        written += text.length;
        s.putResource.run(kind, doc.id, doc.account, doc.region, text);
      }
      for (const r of changes.deleteResources ?? []) {
        s.deleteResource.run(r.kind, r.id);
        s.deleteResourceTags.run(r.id);
        if (r.kind === 'launch-template') s.deleteTemplateVersions.run(r.id);
      }
      for (const { templateId, version } of changes.putTemplateVersions ?? []) {
        const doc = JSON.stringify(version);
        written += doc.length;
        s.putTemplateVersion.run(templateId, version.number, doc);
      }
      for (const v of changes.deleteTemplateVersions ?? []) s.deleteTemplateVersion.run(v.templateId, v.number);
      for (const t of changes.putTags ?? []) s.putTag.run(t.resourceId, t.key, t.resourceType, t.value);
      for (const t of changes.deleteTags ?? []) s.deleteTag.run(t.resourceId, t.key);
      const ct = changes.clientToken;
      if (ct) s.putToken.run(ct.account, ct.region, ct.token, ct.fingerprint, ct.reservationId);
    })();
    this.boundWal(written + PAGE_BYTES * rowsIn(changes));

    for (const rec of changes.instances ?? []) this.instanceById.set(rec.id, rec);
    for (const id of changes.deleteInstances ?? []) {
      this.instanceById.delete(id);
      for (const tagged of taggedWithInstance(id)) this.tagsById.delete(tagged);
    }
    for (const { kind, doc } of changes.putResources ?? []) this.kindMap(kind).set(doc.id, doc);
    for (const r of changes.deleteResources ?? []) {
      this.resourcesByKind.get(r.kind)?.delete(r.id);
      this.tagsById.delete(r.id);
      if (r.kind === 'launch-template') this.versionsByTemplate.delete(r.id);
    }
    for (const { templateId, version } of changes.putTemplateVersions ?? []) this.addVersion(templateId, version);
    if (changes.deleteTemplateVersions?.length) {
      const gone = new Map<string, Set<number>>();
      for (const v of changes.deleteTemplateVersions) gone.set(v.templateId, (gone.get(v.templateId) ?? new Set()).add(v.number));
      for (const [templateId, numbers] of gone) {
        const entry = this.versionsByTemplate.get(templateId);
        if (!entry) continue;
        for (const n of numbers) entry.byNumber.delete(n);
        this.versionsByTemplate.set(templateId, { list: entry.list.filter((v) => !numbers.has(v.number)), byNumber: entry.byNumber });
      }
    }
    for (const t of changes.putTags ?? []) this.tagEntry(t.resourceId, t.resourceType).tags.set(t.key, t.value);
    for (const t of changes.deleteTags ?? []) {
      const entry = this.tagsById.get(t.resourceId);
      entry?.tags.delete(t.key);
      if (entry?.tags.size === 0) this.tagsById.delete(t.resourceId);
    }
    if (changes.clientToken) this.tokens.set(tokenKey(changes.clientToken), changes.clientToken);
  }

  /**
   * The WAL's last resort bound: after about WAL_LOOK_EVERY_BYTES written, one stat of the -wal file;
   * past the hard limit (the checkpointer had no gap between commits to truncate it), a TRUNCATE
   * checkpoint here, on the request path. Rare by design: the worker truncates at half that size.
   */
  private boundWal(bytes: number): void {
    if (!this.wal) return;
    this.writtenSinceLook += bytes;
    if (this.writtenSinceLook < WAL_LOOK_EVERY_BYTES) return;
    this.writtenSinceLook = 0;
    const size = statSync(this.wal.file, { throwIfNoEntry: false })?.size ?? 0;
    if (size > this.wal.hardLimit) this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  instance(id: string): InstanceRecord | undefined {
    return this.instanceById.get(id);
  }

  /** All instances, in creation order. */
  allInstances(): IterableIterator<InstanceRecord> {
    return this.instanceById.values();
  }

  /** How many instance records there are, in every account and region and state. */
  instanceCount(): number {
    return this.instanceById.size;
  }

  resource<K extends StoredKind>(kind: K, id: string): ResourceDocs[K] | undefined {
    return this.resourcesByKind.get(kind)?.get(id) as ResourceDocs[K] | undefined;
  }

  /** Every resource of a kind, in every account and region, in creation order. */
  resources<K extends StoredKind>(kind: K): IterableIterator<ResourceDocs[K]> {
    return (this.resourcesByKind.get(kind) ?? new Map()).values() as IterableIterator<ResourceDocs[K]>;
  }

  /** A launch template's versions, ascending by number (empty for an unknown template). Do not keep it across commits. */
  templateVersions(templateId: string): readonly LaunchTemplateVersionRecord[] {
    return this.versionsByTemplate.get(templateId)?.list ?? NO_VERSIONS;
  }

  templateVersion(templateId: string, number: number): LaunchTemplateVersionRecord | undefined {
    return this.versionsByTemplate.get(templateId)?.byNumber.get(number);
  }

  tagsOf(resourceId: string): ReadonlyMap<string, string> | undefined {
    return this.tagsById.get(resourceId)?.tags;
  }

  /** Every tagged resource, for DescribeTags. */
  taggedResources(): IterableIterator<[string, { readonly type: string; readonly tags: ReadonlyMap<string, string> }]> {
    return this.tagsById.entries();
  }

  clientToken(account: string, region: string, token: string): ClientTokenRecord | undefined {
    return this.tokens.get(tokenKey({ account, region, token }));
  }

  /** The largest creation sequence number in use, so new records continue after a restart. */
  maxSeq(): number {
    let max = 0;
    for (const rec of this.instanceById.values()) max = Math.max(max, rec.seq);
    return max;
  }

  /** Folds the WAL into the database file and closes. */
  async close(): Promise<void> {
    await this.checkpointer?.close();
    if (!this.db.open) return;
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    this.db.close();
  }
}

/** How many rows a commit writes, roughly (for the WAL estimate). */
const rowsIn = (c: Changes): number =>
  (c.instances?.length ?? 0) +
  (c.deleteInstances?.length ?? 0) * 3 +
  (c.putResources?.length ?? 0) +
  (c.deleteResources?.length ?? 0) * 2 +
  (c.putTemplateVersions?.length ?? 0) +
  (c.deleteTemplateVersions?.length ?? 0) +
  (c.putTags?.length ?? 0) +
  (c.deleteTags?.length ?? 0) +
  (c.clientToken ? 1 : 0);

/** The resources whose tags go when an instance record is deleted: the instance and its root volume. */
const taggedWithInstance = (id: string): readonly string[] => [id, rootVolumeId({ id })];

const tokenKey = (t: { account: string; region: string; token: string }) => `${t.account}\u0000${t.region}\u0000${t.token}`;

function mkdirOrThrow(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}
