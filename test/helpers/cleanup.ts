// node:test runs `after` hooks in the order they were added; cleanups must run in the
// reverse order (stop the agent before removing its directory), so helpers push onto
// one stack per test that a single `after` hook unwinds.

type TestLike = { after: (fn: () => Promise<void>) => void };
const stacks = new WeakMap<object, Array<() => Promise<unknown>>>();

export function defer(t: TestLike, cleanup: () => Promise<unknown>): void {
  let stack = stacks.get(t);
  if (!stack) {
    const created: Array<() => Promise<unknown>> = [];
    stacks.set(t, created);
    stack = created;
    t.after(async () => {
      while (created.length > 0) await created.pop()!().catch(() => undefined);
    });
  }
  stack.push(cleanup);
}
