/**
 * The instances of one Region, as the list shows them, kept while the console is open so that coming
 * back to the list is instant. Two ways to the server, sized for thousands of instances:
 *
 * - reload: every instance the API filters let through, in pages (DescribeInstances MaxResults /
 *   NextToken, read lean: the members the list never shows are skipped unparsed) and their status checks
 *   (DescribeInstanceStatus). Sorting, counting and free-text search need the whole set. It runs when the
 *   list opens, when the API filters change, on Refresh, and now and then in the background.
 * - refresh: only the given instances (the page on screen), by ID: what the list polls every few seconds.
 *
 * Each page is read in its own task, so no single task holds the main thread for long.
 */
import type { Instance, InstanceStateChange, InstanceStatus } from '@aws-sdk/client-ec2';
import { type Api, ApiError, type Filter } from '../api.js';
import { type Row, toRow } from './model.js';

/** Instances per DescribeInstances page of a reload: small enough that reading one stays a short task. */
export const RELOAD_PAGE = 500;
/** Status checks per DescribeInstanceStatus page (each is small). */
const STATUS_PAGE = 1000;

export interface ListState {
  /** in the API's order */
  readonly rows: readonly Row[];
  /** a reload is under way */
  readonly loading: boolean;
  /** the rows are a complete answer for the current filters */
  readonly complete: boolean;
  /** instances read so far by the reload under way */
  readonly progress: number;
  readonly error: ApiError | undefined;
}

const filtersKey = (filters: readonly Filter[]) => JSON.stringify(filters);

export class InstanceStore {
  private state: ListState = { rows: [], loading: false, complete: false, progress: 0, error: undefined };
  private readonly listeners = new Set<() => void>();
  private filters: readonly Filter[] = [];
  /** Each reload's number: a newer one makes an older one's answer stale. */
  private generation = 0;
  /** Rows changed (by refresh or an action) since the reload under way started: they win over its older answer. */
  private fresher = new Map<string, Row | null>();

  constructor(private readonly api: Api) {}

  get(): ListState {
    return this.state;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private set(patch: Partial<ListState>): void {
    this.state = { ...this.state, ...patch };
    for (const l of this.listeners) l();
  }

  /** Reads every instance that `filters` let through, and their status checks; the rows change once, at the end. */
  async reload(filters: readonly Filter[]): Promise<void> {
    const generation = ++this.generation;
    const sameQuery = filtersKey(filters) === filtersKey(this.filters);
    this.filters = filters;
    this.fresher = new Map();
    this.set({ loading: true, progress: 0, error: undefined, ...(sameQuery ? {} : { complete: false }) });
    const stale = () => generation !== this.generation;
    try {
      const [instances, statuses] = await Promise.all([
        this.readAll(filters, stale),
        this.readStatuses(stale),
      ]);
      if (stale()) return;
      const rows: Row[] = [];
      const read = new Set<string>();
      for (const i of instances) {
        const id = i.InstanceId ?? '';
        read.add(id);
        const fresher = this.fresher.get(id);
        if (fresher === null) continue; // gone since
        rows.push(fresher ?? toRow(i, statuses.get(id)));
      }
      // Launched (or found by a refresh) after the reload read past them.
      for (const [id, row] of this.fresher) if (row && !read.has(id)) rows.push(row);
      this.fresher = new Map();
      this.set({ rows, loading: false, complete: true, error: undefined });
    } catch (err) {
      if (!stale()) this.set({ loading: false, error: asApiError(err) });
    }
  }

  private async readAll(filters: readonly Filter[], stale: () => boolean): Promise<Instance[]> {
    const all: Instance[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.api.describeInstances({ filters, maxResults: RELOAD_PAGE, nextToken, lean: true });
      if (stale()) return all;
      all.push(...page.instances);
      this.set({ progress: all.length });
      nextToken = page.nextToken;
    } while (nextToken);
    return all;
  }

  private async readStatuses(stale: () => boolean): Promise<Map<string, InstanceStatus>> {
    const out = new Map<string, InstanceStatus>();
    let nextToken: string | undefined;
    do {
      const page = await this.api.describeStatuses({ maxResults: STATUS_PAGE, nextToken });
      if (stale()) return out;
      for (const s of page.statuses) out.set(s.InstanceId ?? '', s);
      nextToken = page.nextToken;
    } while (nextToken);
    return out;
  }

  /**
   * Reads these instances again (the page on screen, or what an action just changed): DescribeInstances
   * and DescribeInstanceStatus with their IDs and the current API filters. An instance the filters no
   * longer let through leaves the rows; one that no longer exists makes the whole list reload.
   */
  async refresh(ids: readonly string[]): Promise<void> {
    const filters = this.filters;
    if (ids.length === 0) return;
    let instances: Instance[];
    let statuses: InstanceStatus[];
    try {
      [{ instances }, { statuses }] = await Promise.all([
        this.api.describeInstances({ ids, filters, lean: true }),
        this.api.describeStatuses({ ids }),
      ]);
    } catch (err) {
      if (filters !== this.filters) return;
      if (err instanceof ApiError && err.code.startsWith('InvalidInstanceID')) return this.reload(filters);
      this.set({ error: asApiError(err) });
      return;
    }
    if (filters !== this.filters) return;
    const statusById = new Map(statuses.map((s) => [s.InstanceId ?? '', s]));
    const found = new Map(instances.map((i) => [i.InstanceId ?? '', i]));
    this.update(ids, (id) => {
      const i = found.get(id);
      return i ? toRow(i, statusById.get(id)) : null;
    });
    if (this.state.error) this.set({ error: undefined });
  }

  /** What a state change answered (StartInstances …), shown at once for every instance it names. */
  applyStateChanges(changes: readonly InstanceStateChange[]): void {
    const byId = new Map(changes.map((c) => [c.InstanceId ?? '', c]));
    const current = new Map(this.state.rows.map((r) => [r.id, r]));
    this.update([...byId.keys()], (id) => {
      const row = current.get(id);
      const state = byId.get(id)?.CurrentState;
      if (!row || !state) return row ?? null;
      return toRow({ ...row.instance, State: state }, row.status);
    });
  }

  /** Instances just launched from the console: listed at once, before the next reload reads them. */
  insert(instances: readonly Instance[]): void {
    const rows = instances.map((i) => toRow(i, undefined));
    for (const r of rows) this.fresher.set(r.id, r);
    const ids = new Set(rows.map((r) => r.id));
    this.set({ rows: [...this.state.rows.filter((r) => !ids.has(r.id)), ...rows] });
  }

  /** Replaces (or, for null, removes) the rows of these IDs, keeping the others and their order. */
  private update(ids: readonly string[], next: (id: string) => Row | null): void {
    const wanted = new Set(ids);
    const replaced = new Map<string, Row | null>();
    for (const id of wanted) {
      const row = next(id);
      replaced.set(id, row);
      this.fresher.set(id, row);
    }
    const rows: Row[] = [];
    for (const r of this.state.rows) {
      if (!wanted.has(r.id)) rows.push(r);
      else {
        const row = replaced.get(r.id);
        if (row) rows.push(row);
      }
    }
    this.set({ rows });
  }
}

const asApiError = (err: unknown): ApiError =>
  err instanceof ApiError ? err : new ApiError('Error', err instanceof Error ? err.message : String(err));
