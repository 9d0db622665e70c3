import { isAbsolute, relative, resolve, sep } from 'node:path';

/** `_HANDLER` split as AWS's Node.js runtime splits it: `path/file.export.nested`. */
export interface HandlerSpec {
  /** The module path without extension, relative to the code directory (`path/file`). */
  readonly modulePath: string;
  /** The export, then nested properties (`['export', 'nested']`). */
  readonly exportPath: readonly string[];
}

/** Undefined when the spec has no module before its first dot. */
export function parseHandlerSpec(spec: string): HandlerSpec | undefined {
  const slash = spec.lastIndexOf('/');
  const base = spec.slice(slash + 1);
  const dot = base.indexOf('.');
  if (dot <= 0) return undefined;
  return {
    modulePath: spec.slice(0, slash + 1) + base.slice(0, dot),
    exportPath: base.slice(dot + 1).split('.'),
  };
}

/**
 * The module's path without extension, or undefined when it would lie outside
 * the code directory (`../`, an absolute path): a function's handler is its own
 * code, never a file elsewhere on the host. The check is on the resolved path,
 * so `a/../../x` is caught however it is spelled; symbolic links inside the code
 * directory are the function author's own and are followed as Lambda does.
 */
export function moduleInside(codeDir: string, modulePath: string): string | undefined {
  if (isAbsolute(modulePath)) return undefined;
  const root = resolve(codeDir);
  const file = resolve(root, modulePath);
  const rel = relative(root, file);
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return undefined;
  return file;
}
