import {
  parseDocument,
  type CollectionTag,
  type ScalarTag,
  type YAMLMap,
  type YAMLSeq,
} from 'yaml';

/**
 * Parses a CloudFormation / SAM template written in YAML into the same plain
 * tree its JSON form would have: every short-form intrinsic (`!Ref X`,
 * `!GetAtt A.B`, `!Sub '…'`, `!If [c, a, b]`, …) becomes its long form
 * (`{ Ref: 'X' }`, `{ 'Fn::GetAtt': ['A', 'B'] }`, …). A tag CloudFormation
 * does not define is an error, not a string: a typo such as `!Reff` must fail
 * the check instead of reaching a deploy.
 */
export function parseCfnYaml(text: string): unknown {
  const doc = parseDocument(text, { customTags: CFN_TAGS, uniqueKeys: true, prettyErrors: false });
  // The yaml package reports an unknown tag as a warning and keeps the plain value; both count.
  const problems = [...doc.errors, ...doc.warnings].map((e) => e.message);
  if (problems.length > 0)
    throw new Error(`not a valid CloudFormation YAML template:\n${problems.join('\n')}`);
  return doc.toJS({ maxAliasCount: 0 }) as unknown;
}

/** Short form → long-form key. `!Ref` and `!Condition` keep their names; the rest are `Fn::X`. */
const FUNCTIONS: Readonly<Record<string, string>> = {
  '!Ref': 'Ref',
  '!Condition': 'Condition',
  '!GetAtt': 'Fn::GetAtt',
  '!Sub': 'Fn::Sub',
  '!If': 'Fn::If',
  '!Equals': 'Fn::Equals',
  '!Not': 'Fn::Not',
  '!And': 'Fn::And',
  '!Or': 'Fn::Or',
  '!Join': 'Fn::Join',
  '!Select': 'Fn::Select',
  '!Split': 'Fn::Split',
  '!FindInMap': 'Fn::FindInMap',
  '!GetAZs': 'Fn::GetAZs',
  '!Base64': 'Fn::Base64',
  '!ImportValue': 'Fn::ImportValue',
  '!Cidr': 'Fn::Cidr',
  '!Length': 'Fn::Length',
  '!ToJsonString': 'Fn::ToJsonString',
};

/** The node's value as plain JavaScript, with nested intrinsics already in long form. */
function plain(node: YAMLMap | YAMLSeq): unknown {
  return node.toJSON() as unknown;
}

function scalarTag(tag: string, key: string): ScalarTag {
  return {
    tag,
    resolve(value: string): unknown {
      // `!GetAtt Resource.Attribute`: the attribute itself may contain dots (e.g. Endpoint.Address).
      if (key === 'Fn::GetAtt') {
        const dot = value.indexOf('.');
        return { [key]: dot < 0 ? [value] : [value.slice(0, dot), value.slice(dot + 1)] };
      }
      return { [key]: value };
    },
  };
}

function collectionTag(tag: string, key: string, collection: 'map' | 'seq'): CollectionTag {
  return {
    tag,
    collection,
    resolve(value: YAMLMap | YAMLSeq): unknown {
      return { [key]: plain(value) };
    },
  };
}

const CFN_TAGS: (ScalarTag | CollectionTag)[] = Object.entries(FUNCTIONS).flatMap(([tag, key]) => [
  scalarTag(tag, key),
  collectionTag(tag, key, 'seq'),
  collectionTag(tag, key, 'map'),
]);
