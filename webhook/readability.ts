// Who can read the injected files and the socket (SPEC §5). The agent runs as uid
// 65532; app containers usually do not. With the pod's fsGroup, kubelet makes the
// volumes group-owned, so a file mode needs the group read bit; without one, the agent
// is told `--readable-by=all` and adds 0444. A `file-<name>-mode` that the app's user
// could not read, or that is widened, is admitted with a warning saying so.

import { PREFIX } from './annotations.ts';
import type { InjectionModel } from './injection-model.ts';
import type { PodLike } from './review-decode.ts';
import { RUN_AS } from './pod-layout.ts';

export type Readability = { readonly readableBy: 'group' | 'all'; readonly fileMode: string };

export function readabilityOf(pod: PodLike): Readability {
  return pod.spec.securityContext?.fsGroup !== undefined
    ? { readableBy: 'group', fileMode: '0440' }
    : { readableBy: 'all', fileMode: '0444' };
}

/** Whether every app container that gets the files runs as the agent's own uid (then owner bits suffice). */
function appsRunAsAgent(pod: PodLike, targets: readonly number[]): boolean {
  return targets.every((i) => (pod.spec.containers[i]?.securityContext?.runAsUser ?? pod.spec.securityContext?.runAsUser) === RUN_AS);
}

export function readabilityWarnings(pod: PodLike, targets: readonly number[], model: InjectionModel): string[] {
  if (appsRunAsAgent(pod, targets)) return [];
  const fsGroup = pod.spec.securityContext?.fsGroup;
  const warnings: string[] = [];
  for (const file of model.files ?? []) {
    if (file.mode === undefined) continue;
    const mode = Number.parseInt(file.mode, 8);
    const annotation = `${PREFIX}file-${file.name}-mode=${file.mode}`;
    if (fsGroup !== undefined && (mode & 0o040) === 0) {
      warnings.push(
        `${annotation}: app containers read the files through the pod's fsGroup (${fsGroup}), and this mode has no group read bit (0040), so "${file.name}" is unreadable to them unless they run as uid ${RUN_AS}; use e.g. "0440"`,
      );
    } else if (fsGroup === undefined && (mode & 0o444) !== 0o444) {
      warnings.push(
        `${annotation}: the pod has no securityContext.fsGroup, so files are made readable by all (mode 0444 added) for app containers that run as another uid than ${RUN_AS}; set fsGroup to keep "${file.name}" group-only`,
      );
    }
  }
  return warnings;
}
