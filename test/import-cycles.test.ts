/**
 * The layering of src/: no import cycles anywhere, and handlers (src/api) sit on top of what they share
 * (src/services), never the other way round. Imports are read with TypeScript's own pre-processor
 * (`ts.preProcessFile`: `import`, `import type`, `export … from`, literal dynamic `import()`), and
 * relative specifiers are resolved as NodeNext resolves them from source ('.js' → '.ts'/'.tsx', a
 * directory's index). A cycle is a strongly connected component of the graph (Tarjan), reported as a
 * chain "a.ts → b.ts → a.ts".
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src');

/** Every .ts and .tsx file under `dir` (declaration files aside), sorted. */
function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (name === 'node_modules') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (/\.tsx?$/.test(name) && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** The source file a relative specifier names, or undefined (a package, a node: builtin, a non-source file). */
function resolveSpecifier(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const base = resolve(dirname(from), specifier);
  const stem = base.replace(/\.(m|c)?jsx?$/, '');
  const candidates = [
    base,
    `${stem}.ts`,
    `${stem}.tsx`,
    join(base, 'index.ts'),
    join(base, 'index.tsx'),
  ];
  return candidates.find((c) => /\.tsx?$/.test(c) && existsSync(c) && statSync(c).isFile());
}

/** Each file's imports (relative ones that resolve to a source file under src/). */
function importGraph(files: readonly string[]): Map<string, string[]> {
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const targets = new Set<string>();
    for (const ref of info.importedFiles) {
      const target = resolveSpecifier(file, ref.fileName);
      if (target && known.has(target)) targets.add(target);
    }
    graph.set(file, [...targets].sort());
  }
  return graph;
}

/** Tarjan's strongly connected components with more than one file, or a file importing itself. */
function cyclicComponents(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

/** A shortest chain from `start` back to itself inside one component (breadth first). */
function cycleThrough(graph: ReadonlyMap<string, readonly string[]>, component: readonly string[], start: string): string[] {
  const members = new Set(component);
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const chain = [start];
        for (let x = v; x !== start; x = previous.get(x)!) chain.splice(1, 0, x);
        return [...chain, start];
      }
      if (!previous.has(w)) {
        previous.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

const rel = (file: string) => relative(ROOT, file).split(sep).join('/');
const chain = (files: readonly string[]) => files.map(rel).join(' → ');

/**
 * Every cycle worth reading, one chain per line: for each cyclic component, a shortest cycle through
 * each of its files, each cycle once.
 */
function cycleReport(graph: ReadonlyMap<string, readonly string[]>): string[] {
  const lines = new Set<string>();
  for (const component of cyclicComponents(graph)) {
    const seen = new Set<string>();
    lines.add(`cycle of ${component.length} file(s): ${component.map(rel).join(', ')}`);
    for (const file of component) {
      const cycle = cycleThrough(graph, component, file);
      // One rotation per cycle: start it at its smallest file.
      const ring = cycle.slice(0, -1);
      const first = ring.indexOf([...ring].sort()[0]!);
      const key = [...ring.slice(first), ...ring.slice(0, first)];
      const text = chain([...key, key[0]!]);
      if (!seen.has(text)) {
        seen.add(text);
        lines.add(`  ${text}`);
      }
    }
  }
  return [...lines];
}

const graph = importGraph(sourceFiles(SRC));

test('the import graph is read from every source file', () => {
  assert.ok(graph.size > 50, `only ${graph.size} files found under src/`);
  const server = graph.get(join(SRC, 'http', 'server.ts'));
  assert.ok(server?.includes(join(SRC, 'api', 'operations.ts')), 'src/http/server.ts should import src/api/operations.ts');
});

test('no import cycles in src/', () => {
  const report = cycleReport(graph);
  assert.equal(report.length, 0, `import cycles in src/:\n${report.join('\n')}`);
});

test('layers: handlers import no other handler, and nothing below src/api imports it', () => {
  const api = join(SRC, 'api') + sep;
  const isHandlerModule = (f: string) => f.startsWith(api) && dirname(f) === dirname(api + 'x') && !/[/\\](context|operations)\.ts$/.test(f);
  const below = [join(SRC, 'services') + sep, join(SRC, 'domain') + sep];
  const wrong: string[] = [];
  for (const [file, targets] of graph) {
    for (const target of targets) {
      // Handlers: context.ts and the layers below; operations.ts (the registry) alone imports them all.
      if (file.startsWith(api) && !file.endsWith(`${sep}operations.ts`) && isHandlerModule(target)) {
        wrong.push(`${rel(file)} imports the handler module ${rel(target)}`);
      }
      if (below.some((dir) => file.startsWith(dir)) && target.startsWith(api)) {
        wrong.push(`${rel(file)} imports ${rel(target)} (src/api sits above it)`);
      }
    }
  }
  assert.deepEqual(wrong, [], wrong.join('\n'));
});
