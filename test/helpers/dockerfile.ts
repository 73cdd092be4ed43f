// Reads what the tests hold the Dockerfiles to: the final stage's ENTRYPOINT, ENV and
// USER, and the compile-cache warm steps of the build stage. One parser, so the unit
// check (test/unit/image-settings.test.ts) and the build-stage replay
// (test/e2e/images.test.ts) read the same steps.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO } from './cli-process.ts';

/** One `[NODE_COMPILE_CACHE=…] node <flags> <script> <args>` step of the warm RUN line. */
export type WarmStep = { cache: string | undefined; flags: string[]; script: string; args: string };

export type Dockerfile = {
  /** Stages split at FROM, continuation lines joined. */
  stages: string[];
  final: { entrypoint: string[]; env: Record<string, string>; user: string | undefined };
  /** The build stage's warm RUN line, undefined when there is none. */
  warm: { stage: string; dir: string; steps: WarmStep[]; user: string | undefined } | undefined;
};

const lastUser = (text: string) => [...text.matchAll(/^USER (\S+)$/gm)].at(-1)?.[1];

export async function readDockerfile(name: string): Promise<Dockerfile> {
  const text = (await readFile(join(REPO, name), 'utf8')).replace(/\\\n\s*/g, ' ');
  const stages = text.split(/^FROM /m);
  const last = stages.at(-1)!;
  const entry = /^ENTRYPOINT (\[.*\])$/m.exec(last);
  if (!entry) throw new Error(`${name}: the final stage has no exec-form ENTRYPOINT`);
  const env: Record<string, string> = {};
  for (const [, line] of last.matchAll(/^ENV (.*)$/gm)) {
    for (const [, key, value] of line!.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=(\S+)/g)) env[key!] = value!;
  }
  const final = { entrypoint: JSON.parse(entry[1]!) as string[], env, user: lastUser(last) };
  const stage = stages.find((s) => /image-prune\.ts warm/.test(s));
  const warmLine = stage === undefined ? undefined : /^RUN (.*image-prune\.ts warm (\S+).*)$/m.exec(stage);
  if (stage === undefined || !warmLine) return { stages, final, warm: undefined };
  const [, line, dir] = warmLine;
  const steps = line!.split('&&').map((step) => {
    const m = /^\s*(?:NODE_COMPILE_CACHE=(\S+) )?node ((?:--\S+ )*)(\S+)(.*)$/.exec(step);
    if (!m) throw new Error(`${name}: a warm step is not one node call: ${step}`);
    return { cache: m[1], flags: m[2]!.trim().split(' ').filter(Boolean), script: m[3]!, args: m[4]!.trim() };
  });
  return { stages, final, warm: { stage, dir: dir!, steps, user: lastUser(stage.slice(0, stage.indexOf(line!))) } };
}
