/**
 * A YAML writer for the rule files' shapes only (maps, lists, strings, numbers): no dependency for
 * what fits in forty lines. Single-line strings are written JSON-quoted, which YAML reads as
 * double-quoted scalars; multi-line strings as literal blocks (`|-`).
 */
export type YamlValue = string | number | boolean | readonly YamlValue[] | YamlMap;
export interface YamlMap {
  readonly [key: string]: YamlValue | undefined;
}

function scalar(value: string | number | boolean, indent: string): string {
  if (typeof value !== 'string') return String(value);
  if (!value.includes('\n'))
    return /^[A-Za-z_][\w.-]*$/.test(value) ? value : JSON.stringify(value);
  return `|-\n${value
    .split('\n')
    .map((line) => (line === '' ? '' : indent + line))
    .join('\n')}`;
}

function isScalar(value: YamlValue): value is string | number | boolean {
  return typeof value !== 'object';
}

function block(value: YamlValue, indent: string): string[] {
  if (isScalar(value)) return [indent + scalar(value, indent)];
  const lines: string[] = [];
  if (Array.isArray(value)) {
    for (const item of value as readonly YamlValue[]) {
      const inner = block(item, indent + '  ');
      const first = inner[0] ?? '';
      lines.push(`${indent}- ${first.slice(indent.length + 2)}`, ...inner.slice(1));
    }
    return lines;
  }
  for (const [key, item] of Object.entries(value as YamlMap)) {
    if (item === undefined) continue;
    if (isScalar(item)) lines.push(`${indent}${key}: ${scalar(item, indent + '  ')}`);
    else lines.push(`${indent}${key}:`, ...block(item, indent + '  '));
  }
  return lines;
}

export function toYaml(value: YamlMap, header: string): string {
  const comment = header
    .split('\n')
    .map((line) => (line === '' ? '#' : `# ${line}`))
    .join('\n');
  return `${comment}\n${block(value, '').join('\n')}\n`;
}
