/**
 * Reading a synthesized CloudFormation template (the JSON `Template.toJSON()`
 * returns) in the CDK tests: resources by type, and intrinsic values as text.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface CfnResource {
  readonly id: string;
  readonly type: string;
  readonly properties: Record<string, Json>;
}

export function resourcesOfType(template: Record<string, Json>, type: string): CfnResource[] {
  const resources = (template['Resources'] ?? {}) as Record<string, Record<string, Json>>;
  return Object.entries(resources)
    .filter(([, r]) => r['Type'] === type)
    .map(([id, r]) => ({
      id,
      type,
      properties: (r['Properties'] ?? {}) as Record<string, Json>,
    }));
}

/**
 * A value as the text it becomes at deploy time, with what only the deploy
 * knows written as a placeholder: `Fn::Join` joined, `Ref` X as `<X>`,
 * `Fn::GetAtt` [X, A] as `<X.A>`, `Fn::Sub` of a string as that string
 * (its `${…}` kept), other intrinsics as `<Fn::…>`.
 */
export function cfnText(value: Json | undefined): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null || value === undefined || Array.isArray(value)) {
    throw new Error(`not a text value: ${JSON.stringify(value)}`);
  }
  const [key, arg] = Object.entries(value)[0] ?? [];
  if (key === 'Fn::Join' && Array.isArray(arg)) {
    const [separator, parts] = arg as [string, Json[]];
    return parts.map(cfnText).join(separator);
  }
  if (key === 'Ref') return `<${cfnText(arg)}>`;
  if (key === 'Fn::Sub' && typeof arg === 'string') return arg;
  if (key === 'Fn::GetAtt' && Array.isArray(arg)) return `<${arg.map(cfnText).join('.')}>`;
  return `<${String(key)}>`;
}

/** Every string in a JSON tree, with its path. */
export function stringLeaves(value: Json, path = ''): { path: string; value: string }[] {
  if (typeof value === 'string') return [{ path, value }];
  if (Array.isArray(value)) return value.flatMap((v, i) => stringLeaves(v, `${path}[${i}]`));
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => stringLeaves(v, `${path}.${k}`));
  }
  return [];
}
