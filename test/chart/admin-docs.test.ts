// Every command in docs/admin.md is run: `helm install`/`template` lines render with the
// real Helm (install as template: there is no cluster) and pass the Kubernetes schemas;
// `llm-config inject` runs on a Deployment carrying the documented annotations;
// `kubectl` and `helm uninstall` lines run with the real binaries against an address
// where nothing listens, so they must get as far as connecting (their flags, resources
// and selectors parse), and the objects their selectors name must exist in the
// documented install. Shell plumbing (curl inside pods, sleep, kill, grep) is not run.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { kubeTools } from '../helpers/helm.ts';
import { CLI, REPO } from '../helpers/cli-process.ts';
import { generateTlsMaterial } from '../../webhook/tls-material.ts';
import { CHART, helmHome, objectProblems, type K8sObject } from './chart-render.ts';

/** LLM_CONFIG_TEST_ADMIN_DOC: another copy of the guide (e.g. the last commit's, to see this test fail on it). */
const DOC = readFileSync(process.env.LLM_CONFIG_TEST_ADMIN_DOC ?? join(REPO, 'docs', 'admin.md'), 'utf8');
const { home, dispose } = helmHome();
after(dispose);

/** The shell blocks, continuation lines joined, trailing `   # comments` dropped. */
function docCommands(): string[] {
  const blocks = [...DOC.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  return blocks.flatMap((block) =>
    block
      .replace(/\\\n\s*/g, ' ')
      .split('\n')
      .map((line) => line.replace(/\s{2,}#.*$/, '').trim())
      .filter(Boolean),
  );
}

/** Splits a line on unquoted `&&`, `||`, `;`, `|` and `&` into simple commands. */
function simpleCommands(line: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      current += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      current += c;
    } else if (';|&'.includes(c)) {
      if (line[i + 1] === c) i++;
      parts.push(current.trim());
      current = '';
    } else current += c;
  }
  parts.push(current.trim());
  return parts.filter(Boolean);
}

// A working directory like the repository's, with a CA file for the `$(base64 -w0 ca.crt)` example,
// and a bin directory with helm, kubectl and llm-config.
const work = join(home, 'work');
const bin = join(home, 'bin');
mkdirSync(join(work, 'charts'), { recursive: true });
mkdirSync(bin);
symlinkSync(CHART, join(work, 'charts', 'llm-config-injector'));
writeFileSync(join(work, 'ca.crt'), (await generateTlsMaterial({ commonName: 'docs', dnsNames: ['x'], validityDays: 2 })).caPem);
symlinkSync(kubeTools().helm, join(bin, 'helm'));
symlinkSync(kubeTools().kubectl, join(bin, 'kubectl'));
writeFileSync(join(bin, 'llm-config'), `#!/bin/sh\nexec '${process.execPath}' '${CLI}' "$@"\n`, { mode: 0o755 });
const NOWHERE = join(home, 'kubeconfig');
writeFileSync(
  NOWHERE,
  stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'nowhere', cluster: { server: 'https://127.0.0.1:1' } }],
    users: [{ name: 'nowhere', user: { token: 'x' } }],
    contexts: [{ name: 'nowhere', context: { cluster: 'nowhere', user: 'nowhere' } }],
    'current-context': 'nowhere',
  }),
);

/** Runs one simple command with bash (its quoting and expansions), with the documented variables set. */
function run(command: string, variables: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = {
    ...variables,
    PATH: `${bin}:${process.env.PATH ?? ''}`,
    HOME: home,
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_DATA_HOME: join(home, 'data'),
    KUBECONFIG: NOWHERE,
  };
  return new Promise((resolve) => {
    execFile('bash', ['-c', command], { cwd: work, env, maxBuffer: 64 * 1024 * 1024, timeout: 120_000 }, (error, stdout, stderr) =>
      resolve({ code: typeof error?.code === 'number' ? error.code : error ? 1 : 0, stdout, stderr }),
    );
  });
}

const parseObjects = (yaml: string) =>
  parseAllDocuments(yaml)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);

const commands = docCommands();

test('docs/admin.md has the commands this test runs', () => {
  assert.ok(commands.some((c) => c.startsWith('helm install ')));
  assert.ok(commands.some((c) => c.startsWith('kubectl ')));
  assert.ok(commands.some((c) => c.startsWith('llm-config inject')));
  for (const line of commands.filter((c) => c.includes('port-forward')))
    assert.doesNotMatch(line, /port-forward[^&]*&&/, 'port-forward never exits: && never reaches the next command');
});

test('docs/admin.md: every helm, kubectl and llm-config command runs', async () => {
  let variables: Record<string, string> = {};
  const installed: K8sObject[] = [];
  const ran: string[] = [];
  for (const line of commands) {
    const assignment = /^((?:[A-Z_]+=\S+\s*)+)$/.exec(line);
    if (assignment) {
      variables = Object.fromEntries(line.split(/\s+/).map((pair) => pair.split('=') as [string, string]));
      continue;
    }
    for (const command of simpleCommands(line)) {
      const program = command.split(/\s+/)[0]!;
      if (['curl', 'sleep', 'kill', 'grep'].includes(program)) continue; // plumbing, or inside a pod
      ran.push(command);
      if (/^helm (install|template) /.test(command)) {
        const asTemplate = command.replace(/^helm install /, 'helm template ').replace(/\s--create-namespace\b/, '');
        const result = await run(asTemplate, variables);
        assert.equal(result.code, 0, `${command}\n${result.stderr}`);
        const objects = parseObjects(result.stdout);
        assert.ok(objects.length >= 8, command);
        assert.deepEqual((await Promise.all(objects.map(objectProblems))).flat(), [], command);
        if (command.startsWith('helm install ')) installed.push(...objects);
      } else if (program === 'kubectl' || /^helm (uninstall|upgrade|status) /.test(command)) {
        const result = await run(command, variables);
        assert.notEqual(result.code, 0, command);
        assert.match(
          result.stderr,
          /connection refused|Kubernetes cluster unreachable|connect: /,
          `${command}: gets as far as the cluster\n${result.stderr}`,
        );
        assert.doesNotMatch(result.stderr, /unknown (flag|command|shorthand)|Usage:|error: (you must|required)/i, command);
        checkSelector(command, variables, installed);
      } else if (program === 'llm-config') {
        const deployment = join(work, 'deployment.yaml');
        writeFileSync(deployment, stringify(documentedDeployment()));
        const result = await run(command, variables);
        assert.equal(result.code, 0, `${command}\n${result.stderr}`);
        const injected = JSON.stringify(parseObjects(result.stdout));
        for (const name of ['llm-config-init', 'llm-config-agent']) assert.ok(injected.includes(`"name":"${name}"`), name);
        for (const used of DOC.matchAll(/-c (llm-config-[a-z]+)/g)) assert.ok(injected.includes(`"name":"${used[1]}"`), used[0]);
      } else assert.fail(`docs/admin.md runs a command this test does not know: ${command}`);
    }
  }
  assert.ok(installed.length > 0, 'the documented install was rendered before the commands that use it');
  assert.ok(ran.length >= 15, `ran ${ran.length} commands`);
});

/** A Deployment with the annotations the "Annotate a workload" section shows. */
function documentedDeployment(): unknown {
  const snippet = /## Annotate a workload\n\n```yaml\n([\s\S]*?)```/.exec(DOC)![1]!;
  const annotations = (parseAllDocuments(snippet)[0]!.toJS() as any).spec.template.metadata.annotations;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'apps' },
    spec: {
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' }, annotations },
        spec: { securityContext: { fsGroup: 1000 }, containers: [{ name: 'app', image: 'nginx' }] },
      },
    },
  };
}

/** `-l app.kubernetes.io/instance=$RELEASE` on a kind the chart makes: such an object must exist in the install. */
function checkSelector(command: string, variables: Record<string, string>, installed: readonly K8sObject[]): void {
  const selector = /-l app\.kubernetes\.io\/instance=\$(\w+)/.exec(command);
  if (!selector) return;
  const release = variables[selector[1]!]!;
  const kinds: Record<string, string> = {
    mutatingwebhookconfiguration: 'MutatingWebhookConfiguration',
    service: 'Service',
    deployment: 'Deployment',
  };
  const kind = Object.entries(kinds).find(([word]) => new RegExp(`\\b${word}\\b`).test(command))?.[1];
  const labelled = (o: K8sObject) => o.metadata.labels?.['app.kubernetes.io/instance'] === release;
  if (kind)
    assert.ok(
      installed.some((o) => o.kind === kind && labelled(o)),
      `${command}: a ${kind} labelled ${release}`,
    );
  if (/\b(pods|logs)\b/.test(command)) {
    const deployment = installed.find((o) => o.kind === 'Deployment')!;
    assert.equal(deployment.spec.template.metadata.labels['app.kubernetes.io/instance'], release, `${command}: pods labelled ${release}`);
  }
  const namespace = /-n \$(\w+)/.exec(command);
  if (namespace) assert.equal(variables[namespace[1]!], installed.find((o) => o.kind === 'Deployment')!.metadata.namespace, command);
}
