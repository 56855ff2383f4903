// Loaded with `node --import` when .ci/run runs the tests on Node 24: `better-sqlite3` resolves to the
// copy .ci/run compiled for Node 24's ABI (NESTBOX_NODE24_SQLITE), never to node_modules' Node 20 build,
// which stays as it is. .ci/run puts it in NODE_OPTIONS, so every process the tests start (test files, servers they spawn) loads it.
import { registerHooks } from 'node:module';
import { pathToFileURL } from 'node:url';

const dir = process.env.NESTBOX_NODE24_SQLITE;
if (!dir) throw new Error('NESTBOX_NODE24_SQLITE must name the better-sqlite3 copy built for this Node');
const url = pathToFileURL(`${dir}/lib/index.js`).href;
registerHooks({
  resolve: (specifier, context, next) => (specifier === 'better-sqlite3' ? { url, shortCircuit: true } : next(specifier, context)),
});
