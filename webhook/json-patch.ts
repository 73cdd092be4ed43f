// Minimal RFC 6902 patches: an absent array or object is created whole, an existing
// array is appended to with `/-` (or inserted into at an index); `~` and `/` in keys
// are escaped in the pointer.

export type PatchOperation = { op: 'add'; path: string; value: unknown };

export function pointerSegment(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

export class PatchBuilder {
  readonly operations: PatchOperation[] = [];

  /** Append `items` to the array at `path`, creating it when absent. */
  append(path: string, existing: readonly unknown[] | undefined, items: readonly unknown[]): void {
    if (items.length === 0) return;
    if (existing === undefined) {
      this.operations.push({ op: 'add', path, value: [...items] });
      return;
    }
    for (const item of items) this.operations.push({ op: 'add', path: `${path}/-`, value: item });
  }

  /** Insert `items` at the front of the array at `path`, in order, creating it when absent. */
  prepend(path: string, existing: readonly unknown[] | undefined, items: readonly unknown[]): void {
    if (existing === undefined || existing.length === 0) return this.append(path, existing, items);
    for (const [i, item] of items.entries()) this.operations.push({ op: 'add', path: `${path}/${i}`, value: item });
  }

  /** Set `key` in the object at `path`, creating the object when absent. */
  setKey(path: string, existing: object | undefined, key: string, value: unknown): void {
    if (existing === undefined) this.operations.push({ op: 'add', path, value: { [key]: value } });
    else this.operations.push({ op: 'add', path: `${path}/${pointerSegment(key)}`, value });
  }
}
