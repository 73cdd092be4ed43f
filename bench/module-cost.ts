// What loading a dependency costs a bare Node with the images' flags (issue 14): RSS and
// its anonymous part after a GC, for undici's index against the part src/lean/undici.ts
// loads (the relay's), one HTTP exchange with undici's pool against one with Node's own
// client (what the agent and init use: src/http/node-http-transport.ts), prom-client's
// index (with its default metrics) against src/lean/prom-client.ts, and node:http taken
// by an ES import against process.getBuiltinModule. Plain JavaScript children (-e), so
// Node's TypeScript stripper is not counted. Figures: docs/sizing.md.
//   node bench/module-cost.ts [runs]

import { execFileSync } from 'node:child_process';
import { IMAGE_NODE_FLAGS } from '../test/helpers/cli-process.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const VARIANTS: Record<string, string> = {
  'nothing loaded': '',
  'undici (index)': "r('undici')",
  'undici (pool, request API)':
    "const D=r('undici/lib/dispatcher/dispatcher.js');Object.assign(D.prototype,r('undici/lib/api/index.js'));r('undici/lib/dispatcher/pool.js')",
  // One GET to a local server, so the client's parser is in memory (undici compiles llhttp to WebAssembly then).
  'one GET, undici pool': `const D=r('undici/lib/dispatcher/dispatcher.js');Object.assign(D.prototype,r('undici/lib/api/index.js'));const P=r('undici/lib/dispatcher/pool.js');${serveThen("new P(u).request({path:'/',method:'GET'}).then(x=>x.body.dump())")}`,
  'one GET, node:http client': serveThen("h.get(u+'/',x=>x.resume())"),
  'prom-client (index, default metrics)': "const p=r('prom-client');p.collectDefaultMetrics({register:new p.Registry()})",
  'prom-client (lean-prom-client parts)':
    "const l='prom-client/lib/';const R=r(l+'registry.js');r(l+'counter.js');r(l+'gauge.js');r(l+'histogram.js');const g=new R();for(const m of ['osMemoryHeap','heapSizeAndUsed','eventLoopLag','processOpenFileDescriptors','processMaxFileDescriptors','processStartTime'])r(l+'metrics/'+m+'.js')(g,{prefix:'x_'})",
  'node:http server, ES import': "import('node:http').then(h=>h.createServer().listen(0,'127.0.0.1'))",
  'node:http server, getBuiltinModule': "process.getBuiltinModule('node:http').createServer().listen(0,'127.0.0.1')",
};

/** A local server answering "ok", then `client` run with its origin as `u` (and node:http as `h`). */
function serveThen(client: string): string {
  return `const h=process.getBuiltinModule('node:http');const s=h.createServer((q,a)=>a.end('ok')).listen(0,'127.0.0.1',()=>{const u='http://127.0.0.1:'+s.address().port;${client}})`;
}

function measure(code: string): { rss: number; anon: number } {
  const script = `const r=require('node:module').createRequire(${JSON.stringify(ROOT)}+'package.json');${code};
setTimeout(()=>{gc();setTimeout(()=>{const s=require('node:fs').readFileSync('/proc/self/status','utf8');
const g=(k)=>Number(new RegExp(k+':\\\\s+(\\\\d+)').exec(s)[1])/1024;console.log(JSON.stringify({rss:g('VmRSS'),anon:g('RssAnon')}));process.exit(0)},300)},500)`;
  return JSON.parse(execFileSync(process.execPath, [...IMAGE_NODE_FLAGS, '--expose-gc', '-e', script], { encoding: 'utf8' }));
}

const runs = Number(process.argv[2]) || 3;
console.log(`module cost: node ${IMAGE_NODE_FLAGS.join(' ')} --expose-gc, median of ${runs}, Node ${process.version}`);
for (const [name, code] of Object.entries(VARIANTS)) {
  const samples = Array.from({ length: runs }, () => measure(code)).sort((a, b) => a.rss - b.rss);
  const { rss, anon } = samples[Math.floor(runs / 2)]!;
  console.log(`  ${name.padEnd(40)} RSS ${rss.toFixed(1).padStart(6)} MiB   anonymous ${anon.toFixed(1).padStart(5)} MiB`);
}
