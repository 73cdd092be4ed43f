// Node's heap limit for the injected containers, from their memory limit (issue 14;
// figures in docs/sizing.md). Node sizes V8's heap from the cgroup limit on its own,
// but V8's formula leaves no room for what is not heap: Node's binary pages (~45 MiB
// of RSS, charged to the container too), native buffers and thread stacks. A heap cap
// at half the limit makes V8 collect harder as it nears the cap, so the container
// stays under its limit; data that truly does not fit ends in V8's own "heap out of
// memory" message in the log, not a silent kill by the kernel.

import { quantityValue } from '../src/options/parsers.ts';

/** What a Node process needs besides its old generation: binary pages, native memory, young generation. */
const NON_HEAP_FLOOR_MIB = 64;

/**
 * `--max-old-space-size=<MiB>` for a container limited to `memoryLimit` (a Kubernetes
 * quantity): half of it, and never closer to the limit than the non-heap floor.
 * Undefined when the limit is too small to leave a useful heap (under 80 Mi): Node's
 * own default then applies.
 */
export function heapFlagFor(memoryLimit: string): string | undefined {
  const mib = Math.floor(quantityValue(memoryLimit) / 2 ** 20);
  if (!Number.isFinite(mib)) return undefined;
  const heap = Math.min(Math.floor(mib / 2), mib - NON_HEAP_FLOOR_MIB);
  return heap >= 16 ? `--max-old-space-size=${heap}` : undefined;
}
